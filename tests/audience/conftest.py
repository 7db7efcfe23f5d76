"""Audience fixtures: every `engine` test runs on SQLite and on PostgreSQL.

SQLite: a fresh file per test, copied from one migrated template. PostgreSQL: one schema
for the session (dropped at the end), its rows deleted before each test; it must be
reachable (MODEMGATE_TEST_POSTGRES, default postgres at 127.0.0.1:5432, database `test`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgschema import throwaway_schema
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gateway.db import create_engine_for, migrate, session
from gateway.models import metadata


@pytest.fixture(scope="session")
def audience_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audience") / "modemgate.db"
    engine = create_engine_for(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def audience_postgres() -> Iterator[Engine]:
    with throwaway_schema("mg_aud") as url:
        engine = create_engine_for(url)
        try:
            migrate(engine)
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path / "modemgate.db"
        shutil.copyfile(request.getfixturevalue("audience_template"), path)
        sqlite = create_engine_for(f"sqlite:///{path}")
        yield sqlite
        sqlite.dispose()
        return
    pg = request.getfixturevalue("audience_postgres")
    with pg.begin() as conn:  # DELETE: on tables this small, far quicker than TRUNCATE
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    yield pg


@pytest.fixture
def s(engine: Engine) -> Iterator[Session]:
    """A write session; tests commit when a step must be seen by the next."""
    with session(engine, write=True) as db:
        yield db
