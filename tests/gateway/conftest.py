"""Gateway fixtures: an injected wall clock. (`engine`, on SQLite and PostgreSQL, is in
tests/conftest.py.)"""

from __future__ import annotations

import pytest

from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
