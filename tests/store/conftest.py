"""A migrated database per test, on SQLite and on PostgreSQL (a throw-away schema)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pgschema import throwaway_schema
from sqlalchemy.engine import Engine

from gateway.db import create_engine_for, migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = create_engine_for(f"sqlite:///{tmp_path / 'gw.db'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    with throwaway_schema("mg_store") as url:
        eng = create_engine_for(url)
        try:
            migrate(eng)
            yield eng
        finally:
            eng.dispose()
