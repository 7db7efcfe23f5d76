"""Backups of the database while the gateway runs.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies a consistent snapshot
page by page while the gateway keeps writing; every message committed before the copy
began is in it. The copy is written beside the target and renamed into place, so a
half-written file never carries the target's name.

PostgreSQL: `pg_dump` does the same for a server, and is the tool to use; `pg_dump_command`
gives the command for the configured database, which `modemgate backup` runs when
`pg_dump` is installed.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

__all__ = ["BackupResult", "backup_sqlite", "sqlite_path", "pg_dump_command"]


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    messages: int  # rows of `message` in the copy


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite database URL; None for another database."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def backup_sqlite(source: Path, target: Path, *, pages_per_step: int = 1024) -> BackupResult:
    """Copy the database at `source` to `target` (replaced if it exists) while others write."""
    if not source.exists():
        raise FileNotFoundError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            # Small steps let the gateway's writers in between them; a write to a page
            # already copied restarts the copy, so under steady writes it still ends.
            src.backup(dst, pages=pages_per_step)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            messages = _count(dst, "message")
            dst.commit()
        finally:
            dst.close()
    finally:
        src.close()
    with open(partial, "rb") as f:
        os.fsync(f.fileno())
    os.replace(partial, target)
    return BackupResult(target, target.stat().st_size, messages)


def pg_dump_command(database_url: str, target: Path) -> list[str]:
    """The `pg_dump` command that writes the configured PostgreSQL database to `target`
    (custom format, for `pg_restore`)."""
    url = sa.engine.make_url(database_url)
    args = ["pg_dump", "--format=custom", f"--file={target}"]
    if url.host:
        args.append(f"--host={url.host}")
    if url.port:
        args.append(f"--port={url.port}")
    if url.username:
        args.append(f"--username={url.username}")
    options = url.query.get("options")
    if isinstance(options, str) and "search_path=" in options:
        args.append(f"--schema={options.split('search_path=', 1)[1].split()[0]}")
    args.append(url.database or "postgres")
    return args


def _count(conn: sqlite3.Connection, table: str) -> int:
    try:
        return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    except sqlite3.OperationalError:  # an empty database without the table yet
        return 0
