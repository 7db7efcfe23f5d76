"""Counting the SQL statements an engine runs, to show a page reads a fixed number of
queries whatever its size (tests and the console benchmark)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine


@dataclass
class QueryCount:
    count: int = 0


@contextmanager
def counting_queries(engine: Engine, *, threads: str | None = None) -> Iterator[QueryCount]:
    """SQL statements `engine` executes inside the block (reads and writes alike; not the
    PRAGMAs a new SQLite connection runs when the pool opens it). `threads`: count only those
    run by threads whose name starts so (e.g. "AnyIO worker thread", where a request's
    blocking calls run, leaving out a running gateway's own loops)."""
    counted = QueryCount()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threads is not None and not threading.current_thread().name.startswith(threads):
            return
        if not statement.lstrip().upper().startswith("PRAGMA"):
            counted.count += 1

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield counted
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
