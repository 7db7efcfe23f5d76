"""Storage: engines for SQLite and PostgreSQL, migrations applied at start, aware UTC times."""

from __future__ import annotations

import re
import sqlite3
import threading
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from setuptools import find_namespace_packages

from drivers import ConfigError
from gateway.core.db import MIGRATIONS, create_engine_for, migrate, session, transaction
from gateway.core.models import ApiKey, Message, metadata
from harness.pgschema import throwaway_schema

ROOT = Path(__file__).resolve().parents[2]
HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()  # the newest revision


def test_migrations_create_exactly_the_tables_the_models_describe(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD


def test_migrating_an_up_to_date_database_changes_nothing(engine):
    migrate(engine)
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_processes_starting_together_migrate_a_new_database_once(tmp_path):
    engine = create_engine_for(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        _migrate_together(engine)
    finally:
        engine.dispose()


def test_gateways_starting_together_migrate_a_new_postgresql_schema_once():
    with throwaway_schema() as url:
        engine = create_engine_for(url)
        try:
            _migrate_together(engine)
        finally:
            engine.dispose()


def _migrate_together(engine, starters: int = 3) -> None:
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_migrate_into, args=(engine, errors)) for _ in range(starters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]


def test_sqlite_runs_in_wal_with_foreign_keys_full_sync_and_a_busy_timeout(tmp_path):
    engine = create_engine_for(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("synchronous") == 2  # FULL
        assert pragma("busy_timeout") >= 5000
    engine.dispose()


def test_a_write_transaction_on_sqlite_takes_the_write_lock_at_begin(tmp_path):
    path = tmp_path / "x.db"
    engine = create_engine_for(f"sqlite:///{path}")
    migrate(engine)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with transaction(engine):  # no statement yet: the lock is taken by BEGIN IMMEDIATE itself
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # free again after commit
    other.execute("ROLLBACK")
    other.close()
    engine.dispose()


def test_a_write_session_on_sqlite_takes_the_write_lock_at_begin(tmp_path):
    path = tmp_path / "x.db"
    engine = create_engine_for(f"sqlite:///{path}")
    migrate(engine)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with session(engine, write=True) as s:
        s.exec(sa.select(ApiKey)).all()  # the session's transaction begins here
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        s.add(ApiKey(name="k", prefix="abcd1234", key_hash="h", created_at=datetime.now(UTC)))
        s.commit()
    with session(engine) as s:
        s.exec(sa.select(ApiKey)).all()  # a read-only session leaves the write lock free
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    other.close()
    engine.dispose()


def test_foreign_keys_are_enforced(engine):
    with pytest.raises(sa.exc.IntegrityError), transaction(engine) as conn:
        conn.execute(sa.insert(metadata.tables["part"]).values(message_id="nope", seq=1, pdu="00", tpdu_length=1))


def test_times_are_stored_as_utc_and_come_back_aware(engine):
    amsterdam = timezone(timedelta(hours=2))
    created = datetime(2026, 6, 1, 14, 30, 15, 123456, tzinfo=amsterdam)
    with session(engine) as s:
        s.add(ApiKey(name="k", prefix="abcd1234", key_hash="h", created_at=created))
        s.commit()
    with session(engine) as s:
        key = s.exec(sa.select(ApiKey)).scalar_one()
        assert key.created_at.tzinfo == UTC
        assert key.created_at == created
        assert key.revoked_at is None
        # Comparisons happen in UTC on both databases.
        just_before = datetime(2026, 6, 1, 12, 30, 15, tzinfo=UTC)
        assert s.exec(sa.select(ApiKey.id).where(ApiKey.created_at > just_before)).scalars().all() == [key.id]


def test_a_naive_datetime_is_refused(engine):
    with session(engine) as s:
        s.add(ApiKey(name="k", prefix="abcd1234", key_hash="h", created_at=datetime(2026, 6, 1)))
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            s.commit()


def test_message_status_outside_the_closed_set_is_refused(engine):
    now = datetime(2026, 6, 1, tzinfo=UTC)
    with session(engine) as s:
        s.add(
            Message(
                request_hash="h", recipient="+31612345678", text="x", encoding="gsm7", status="lost",
                parts_total=1, next_attempt_at=now, valid_until=now, created_at=now, updated_at=now,
            )
        )  # fmt: skip
        with pytest.raises(sa.exc.IntegrityError):
            s.commit()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "oracle://x", "not a url"])
def test_an_unsupported_database_is_a_config_error(url):
    with pytest.raises(ConfigError, match="database_url"):
        create_engine_for(url)


def test_a_postgresql_url_without_driver_uses_psycopg():
    engine = create_engine_for("postgresql://postgres@127.0.0.1:5432/test")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_an_in_memory_sqlite_database_works_across_threads():
    engine = create_engine_for("sqlite://")
    migrate(engine)
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(_count_tables(engine)))
    thread.start()
    thread.join()
    assert seen == [_count_tables(engine)] and seen[0] >= len(metadata.tables)


def test_the_migrations_ship_inside_the_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    find = config["tool"]["setuptools"]["packages"]["find"]
    packages = find_namespace_packages(where=str(ROOT), include=find["include"])
    assert {"gateway.core.migrations", "gateway.core.migrations.versions"} <= set(packages)
    assert (MIGRATIONS / "env.py").is_file()
    revisions = [p for p in (MIGRATIONS / "versions").glob("*.py") if re.match(r"\d{4}_", p.name)]
    assert revisions, "no revision files"


def _migrate_into(engine: sa.engine.Engine, errors: list[BaseException]) -> None:
    try:
        migrate(engine)
    except BaseException as exc:
        errors.append(exc)


def _count_tables(engine: sa.engine.Engine) -> int:
    with engine.connect() as conn:
        return len(sa.inspect(conn).get_table_names())
