"""Helpers for the audience tests: a fixed wall-clock time."""

from __future__ import annotations

from datetime import datetime, timezone

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
