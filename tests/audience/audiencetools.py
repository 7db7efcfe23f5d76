"""Helpers for the audience tests: the PostgreSQL server to use, a fixed wall-clock time."""

from __future__ import annotations

import os
from datetime import datetime, timezone

POSTGRES_URL = os.environ.get("MODEMGATE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
