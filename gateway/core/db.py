"""Database engines, migrations and transactions, for SQLite and PostgreSQL.

SQLite is the default: one file, WAL journal (readers never wait for the writer),
`synchronous=FULL` (a commit survives a power cut: a message acknowledged with 202 is
on disk), foreign keys on, and a busy timeout so a writer waits its turn instead of
failing. Python's sqlite3 module opens transactions only before writes, which would
leave a read-then-write (the outbox claim) unprotected, so the engine issues `BEGIN`
itself: `BEGIN IMMEDIATE` for `transaction()` (take the write lock up front, so two
writers queue instead of one failing with "database is locked" on upgrade), plain
`BEGIN` otherwise.

Storage failures: an error that says the database itself cannot work now (a full disk, a
read-only file, a lock held past the busy timeout, a lost or refused PostgreSQL connection)
comes out of every engine made here as `gateway.core.errors.StorageUnavailable`, the
driver's error as its cause (`storage_failure` tells them from errors of the statement).
Each such engine has a `StorageWatch` that remembers the last one until a write goes
through again (`probe_write`), which is what readiness reports.

PostgreSQL goes through psycopg 3 (`postgresql+psycopg://`). A schema other than
`public` can be chosen in the URL: `...?options=-csearch_path%3Dmyschema`.

Migrations are Alembic revisions in `gateway/core/migrations`, applied by `migrate()` at start;
no alembic.ini is needed. To write a new revision from a checkout:
`alembic -c gateway/core/migrations/alembic.ini revision --autogenerate -m "..."`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, CursorResult, Engine, ExceptionContext, Result
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from drivers import ConfigError
from gateway.core.errors import NotFound, StorageUnavailable

__all__ = [
    "create_engine_for",
    "migrate",
    "session",
    "transaction",
    "lock_for",
    "connection_of",
    "get_or_raise",
    "ping",
    "probe_write",
    "check_storage",
    "storage_failure",
    "storage_watch",
    "StorageWatch",
    "MIGRATIONS",
    "BUSY_TIMEOUT_MS",
]

T = TypeVar("T")

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 30_000
_WRITE = "modemgate_write"  # execution option: begin with BEGIN IMMEDIATE on SQLite
_MIGRATION_LOCK = 0x6D6F64656D67  # pg_advisory_xact_lock key: "modemg"

# SQLite primary result codes that say the storage failed, not the statement
# (https://www.sqlite.org/rescode.html); SQLITE_ERROR (1: no such table, syntax) is not one.
_SQLITE_STORAGE = {
    5: "SQLITE_BUSY",  # the write lock was held past the busy timeout
    6: "SQLITE_LOCKED",
    7: "SQLITE_NOMEM",
    8: "SQLITE_READONLY",
    10: "SQLITE_IOERR",
    11: "SQLITE_CORRUPT",
    13: "SQLITE_FULL",
    14: "SQLITE_CANTOPEN",
    15: "SQLITE_PROTOCOL",
    26: "SQLITE_NOTADB",
}
# PostgreSQL SQLSTATE classes that say the same (Appendix A, "PostgreSQL Error Codes"):
# connection exception, insufficient resources (disk full, out of memory, too many
# connections), operator intervention (shutdown, cannot connect now), system error (I/O).
_PG_STORAGE_CLASSES = {"08", "53", "57", "58"}
_PG_READ_ONLY = "25006"  # read_only_sql_transaction: a standby, or default_transaction_read_only


def create_engine_for(url: str, **kwargs: Any) -> Engine:
    """An engine for `url` (sqlite:///FILE or postgresql+psycopg://…), configured as above.

    `kwargs` go to `sqlalchemy.create_engine`. Raises ConfigError for other databases.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"database_url {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    if parsed.drivername == "postgresql+psycopg":
        kwargs.setdefault("pool_pre_ping", True)
        engine = sa.create_engine(parsed, **kwargs)
        _watch_storage(engine)
        return engine
    raise ConfigError(f"database_url {url!r}: use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB")


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the newest revision (or to `revision`, as the migration tests and
    an operator going step by step do). Safe to run from several processes at once."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE: True})
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a column by rebuilding its table (Alembic's batch mode): with
            # foreign keys enforced, dropping a table other rows refer to fails, so an
            # upgrade of a database with data in it would. They are checked after instead.
            # (The pragma is ignored inside a transaction: set it before BEGIN.)
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
                if sqlite and (broken := conn.exec_driver_sql("PRAGMA foreign_key_check").first()) is not None:
                    raise ConfigError(f"migration to {revision} left a row of {broken[0]} without its {broken[2]} row")
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]


def session(engine: Engine, *, write: bool = False) -> Session:
    """A Session whose objects stay readable after commit (`with session(engine) as s:`).

    `write=True` for a session that reads and then writes: on SQLite its transactions
    start with BEGIN IMMEDIATE. (A plain BEGIN reads a snapshot; if another connection
    commits before this one's first write, SQLite refuses that write at once with
    "database is locked", without waiting for the busy timeout.)
    """
    bind = engine.execution_options(**{_WRITE: True}) if write else engine
    return Session(bind, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One short write transaction: committed on success, rolled back on error.

    On SQLite it starts with BEGIN IMMEDIATE, so it holds the single write lock from its
    first statement (and waits up to the busy timeout for it).
    """
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


def get_or_raise(s: Session, model: type[T], row_id: Any, what: str) -> T:
    """The row of `model` with primary key `row_id`; NotFound (naming `what`) when there is none."""
    row = s.get(model, row_id)
    if row is None:
        raise NotFound(what, row_id)
    return row


def rowcount(result: Result[Any]) -> int:
    """Rows a DELETE or UPDATE touched: Session.execute is typed to return a Result, but for
    those statements it is a CursorResult, which counts them."""
    return cast("CursorResult[Any]", result).rowcount


class _Stamped(Protocol):
    updated_at: datetime


S = TypeVar("S", bound=_Stamped)


def save(s: Session, row: S, *, now: datetime) -> S:
    """Write a changed row in the caller's transaction: `updated_at` set to `now`, added
    and flushed (not committed). Returns it."""
    row.updated_at = now
    s.add(row)
    s.flush()
    return row


def lock_for(conn: Connection, name: str, number: int) -> None:
    """Hold a lock on (name, number) until the transaction ends, for writers that touch
    the same thing through different rows (a report and the part it belongs to).

    PostgreSQL: a transaction-scoped advisory lock. SQLite: nothing to do, the
    transaction already holds the database's single write lock.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(name), number)))


def connection_of(c: Connection | Session) -> Connection:
    """The connection of the caller's transaction, for Core statements run in it: `c`
    itself, or a Session's (flushed first, so the statements see what it changed)."""
    if isinstance(c, Connection):
        return c
    c.flush()
    return c.connection()


def ping(engine: Engine) -> None:
    """One round trip to the database; raises what the driver raises if it does not answer."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


def storage_failure(error: sa.exc.DBAPIError, *, disconnect: bool = False) -> str | None:
    """What failed, when `error` is a failure of the storage rather than of the statement
    (see the module's docstring); None for an error of the statement or its data."""
    orig = error.orig
    first_line = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if disconnect:
        return f"connection lost: {first_line}"
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        name = _SQLITE_STORAGE.get(code & 0xFF)
        return f"{first_line} ({name})" if name else None
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate == _PG_READ_ONLY or (sqlstate is not None and sqlstate[:2] in _PG_STORAGE_CLASSES):
        return f"{first_line} ({sqlstate})"
    if sqlstate is None and isinstance(error, sa.exc.OperationalError):
        return first_line  # no answer from the server at all (refused, reset, timed out)
    return None


class StorageWatch:
    """The last storage failure of one engine, until a write went through again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failing: str | None = None

    @property
    def failing(self) -> str | None:
        """Why storage failed last, or None when no failure is outstanding."""
        return self._failing

    def failed(self, reason: str) -> None:
        with self._lock:
            self._failing = reason

    def recovered(self) -> None:
        with self._lock:
            self._failing = None


_WATCHES: weakref.WeakKeyDictionary[Engine, StorageWatch] = weakref.WeakKeyDictionary()


def storage_watch(engine: Engine) -> StorageWatch:
    """The `StorageWatch` of `engine` (made by `create_engine_for`)."""
    return _WATCHES.setdefault(engine, StorageWatch())


def probe_write(engine: Engine) -> None:
    """One real write, committed, to learn whether storage takes writes again; clears the
    engine's watch when it does, raises StorageUnavailable when it does not.

    It rewrites the one row every migrated database has with its own value: a page to
    the journal and a commit, nothing changed.
    """
    with transaction(engine) as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = version_num"))
    storage_watch(engine).recovered()


def check_storage(engine: Engine) -> None:
    """Raise what the database raises when it cannot work: after a storage failure (the
    engine's watch), that a write goes through again (`probe_write`); else a round trip."""
    if storage_watch(engine).failing is not None:
        probe_write(engine)
    else:
        ping(engine)


def _watch_storage(engine: Engine) -> None:
    """Raise StorageUnavailable in place of a storage failure, and remember it."""
    watch = storage_watch(engine)

    @event.listens_for(engine, "handle_error", retval=True)
    def _on_error(context: ExceptionContext) -> BaseException | None:
        error = context.sqlalchemy_exception
        if context.is_pre_ping or not isinstance(error, sa.exc.DBAPIError):
            return None  # a failed pre-ping is handled by the pool (it reconnects)
        reason = storage_failure(error, disconnect=context.is_disconnect)
        if reason is None:
            return None
        watch.failed(reason)
        return StorageUnavailable(reason)


def _sqlite_engine(url: sa.engine.URL, **kwargs: Any) -> Engine:
    memory = url.database in (None, "", ":memory:")
    if memory:
        kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we say BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    _watch_storage(engine)
    return engine
