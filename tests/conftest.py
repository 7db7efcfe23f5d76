"""Shared test setup: the storage fixtures every folder uses.

`engine` runs a test on SQLite and on PostgreSQL. SQLite: a fresh database file per test,
copied from one migrated template. PostgreSQL: one schema per test session
(`harness/pgschema.py`, dropped at the end), its tables emptied before each test.
PostgreSQL is not optional: when it cannot be reached the tests fail and say so.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from gateway.core.db import create_engine_for, migrate
from gateway.core.models import metadata
from harness.pgschema import throwaway_schema


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "modemgate.db"
    engine = create_engine_for(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    with throwaway_schema() as url:
        engine = create_engine_for(url, pool_size=12)
        try:
            migrate(engine)
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path / "modemgate.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        sqlite = create_engine_for(f"sqlite:///{path}")
        yield sqlite
        sqlite.dispose()
        return
    yield _emptied(request.getfixturevalue("postgres_engine"))


@pytest.fixture
def postgres(postgres_engine: Engine) -> Engine:
    """For what only PostgreSQL has (row locks)."""
    return _emptied(postgres_engine)


def _emptied(engine: Engine) -> Engine:
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return engine
