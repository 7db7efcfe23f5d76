"""Storage failures come out of the engine as StorageUnavailable; errors of a statement do not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.core import db
from gateway.core.db import check_storage, create_engine_for, migrate, probe_write, storage_watch, transaction
from gateway.core.errors import StorageUnavailable
from harness.pgschema import schema_url, throwaway_schema


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "modemgate.db"
    engine = create_engine_for(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


def write(engine: sa.Engine, n: int = 0) -> None:
    """A row of about 2 kB."""
    with transaction(engine) as conn:
        conn.execute(
            sa.text("INSERT INTO api_key (name, prefix, key_hash, created_at) VALUES ('k', :p, :h, '2026-01-01')"),
            {"p": f"p{n}", "h": "h" * 2000},
        )


def test_a_full_database_is_a_storage_failure_and_a_write_afterwards_clears_it(path):
    engine = create_engine_for(f"sqlite:///{path}", poolclass=sa.pool.StaticPool)
    with engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL on the next new page
    with pytest.raises(StorageUnavailable, match="full") as caught:
        for n in range(200):
            write(engine, n)
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)  # the driver's own error
    assert "SQLITE_FULL" in (storage_watch(engine).failing or "")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA max_page_count = 1000000")  # space again
    check_storage(engine)
    assert storage_watch(engine).failing is None
    engine.dispose()


def test_a_read_only_database_file_is_a_storage_failure(path):
    engine = create_engine_for(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(StorageUnavailable, match="readonly"):
        write(engine)
    engine.dispose()


def test_a_lock_held_past_the_busy_timeout_is_a_storage_failure(path, monkeypatch):
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)
    engine = create_engine_for(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageUnavailable, match="locked"):
            write(engine)
        with pytest.raises(StorageUnavailable):
            check_storage(engine)  # a read alone would pass: after a failure, a write is tried
    finally:
        other.execute("ROLLBACK")
        other.close()
    check_storage(engine)  # the lock is free again
    assert storage_watch(engine).failing is None
    engine.dispose()


def test_an_error_of_the_statement_is_not_a_storage_failure(path):
    engine = create_engine_for(f"sqlite:///{path}")
    with pytest.raises(sa.exc.OperationalError, match="no such table"), transaction(engine) as conn:
        conn.execute(sa.text("SELECT * FROM nowhere"))
    with pytest.raises(sa.exc.IntegrityError), transaction(engine) as conn:
        conn.execute(sa.text("INSERT INTO part (message_id, seq, pdu, tpdu_length) VALUES ('nope', 1, '00', 1)"))
    assert storage_watch(engine).failing is None
    engine.dispose()


def test_a_postgresql_server_that_refuses_connections_is_a_storage_failure():
    engine = create_engine_for("postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2")
    with pytest.raises(StorageUnavailable, match=r"refused|connect"):
        check_storage(engine)
    engine.dispose()


def test_a_read_only_postgresql_database_is_a_storage_failure():
    with throwaway_schema("mg_ro") as url:
        engine = create_engine_for(url)
        migrate(engine)
        engine.dispose()
        schema = sa.engine.make_url(url).query["options"].split("=", 1)[1]
        read_only = sa.engine.make_url(schema_url(schema)).update_query_dict(
            {"options": f"-csearch_path={schema} -cdefault_transaction_read_only=on"}
        )
        engine = create_engine_for(read_only.render_as_string(hide_password=False))
        with pytest.raises(StorageUnavailable, match="25006"):
            write(engine)
        engine.dispose()


def test_a_lost_postgresql_connection_is_a_storage_failure_and_the_next_one_works():
    with throwaway_schema("mg_lost") as url:
        engine = create_engine_for(url)
        migrate(engine)
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            killer = create_engine_for(url)
            with killer.connect() as k:
                k.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
            killer.dispose()
            with pytest.raises(StorageUnavailable):
                conn.exec_driver_sql("SELECT 1")
        probe_write(engine)  # a new connection from the pool
        assert storage_watch(engine).failing is None
        engine.dispose()
