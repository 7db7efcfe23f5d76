"""Audience fixtures: a write session on `engine` (SQLite and PostgreSQL, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gateway.core.db import session


@pytest.fixture
def s(engine: Engine) -> Iterator[Session]:
    """A write session; tests commit when a step must be seen by the next."""
    with session(engine, write=True) as db:
        yield db
