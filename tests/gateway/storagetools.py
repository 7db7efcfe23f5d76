"""Helpers for storage and outbox tests: the PostgreSQL server, an injected wall clock."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

POSTGRES_URL = os.environ.get("MODEMGATE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class FakeClock:
    """Wall-clock time that moves only when a test says so."""

    def __init__(self, start: datetime = T0) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current
