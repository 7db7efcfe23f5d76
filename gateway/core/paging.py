"""Keyset paging: newest first, and the cursor names the last row of the page before.

A cursor is opaque to clients: base64url (unpadded) of the JSON `[timestamp, id]` of that
row. It comes back from them, so it is checked like any input (`InvalidInput` on `cursor`).
Paging by position instead of by offset keeps each page one index range scan deep, and a
row added while a client pages through does not shift what it sees next.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session

from gateway.core.errors import InvalidInput

__all__ = ["Page", "Position", "query_page", "fetch_page", "after", "encode_cursor", "decode_cursor"]

T = TypeVar("T")
Q = TypeVar("Q")
Position = tuple[datetime, Any]
"""(timestamp, id) of a row: where a page ends."""

_MAX_INT_ID = 2**31 - 1  # integer ids are PostgreSQL `integer`


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows, and the cursor of the next one (None on the last page)."""

    items: list[T]
    next_cursor: str | None


def query_page(
    s: Session,
    query: Any,
    stamp: Any,
    ident: Any,
    *,
    cursor: str | None,
    limit: int,
    id_type: type = int,
    position: Callable[[Any], Position] | None = None,
) -> Page[Any]:
    """One page of `query`'s rows, newest first by the columns `stamp` then `ident`.
    `position` reads them from a row that is not one model (a joined tuple)."""

    def fetch(n: int, start: Position | None) -> list[Any]:
        return list(s.exec(after(query, stamp, ident, start, n)))

    def of_row(row: Any) -> Position:
        return getattr(row, stamp.key), getattr(row, ident.key)

    return fetch_page(cursor, limit, fetch, position or of_row, id_type=id_type)


def fetch_page(
    cursor: str | None,
    limit: int,
    fetch: Callable[[int, Position | None], list[T]],
    position: Callable[[T], Position],
    *,
    id_type: type = int,
) -> Page[T]:
    """`fetch(limit + 1, after)` cut to one page: the extra row only tells that one more page
    follows. `id_type` is the type of the rows' ids (int or str)."""
    start = decode_cursor(cursor, id_type) if cursor else None
    rows = fetch(limit + 1, start)
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, encode_cursor(*position(rows[-1])))


def after(query: Q, stamp: Any, ident: Any, start: Position | None, limit: int) -> Q:
    """`query` newest first by (`stamp`, `ident`) columns, from after `start`, `limit` rows."""
    if start is not None:
        at, key = start
        query = query.where(sa.or_(stamp < at, sa.and_(stamp == at, ident < key)))  # type: ignore[attr-defined]
    return query.order_by(stamp.desc(), ident.desc()).limit(limit)  # type: ignore[attr-defined]


def encode_cursor(created_at: datetime, ident: Any) -> str:
    raw = json.dumps([created_at.isoformat(), ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: type = str) -> Position:
    """(timestamp, id) from a cursor; `kind` is the id's type (str or int).

    An aware timestamp that UTC can hold, and an id of the right type and range for the
    database, else InvalidInput.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, ident = json.loads(raw)
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise ValueError("no time zone")
        when = when.astimezone(UTC)  # OverflowError at the ends of the calendar
        if kind is int:
            if isinstance(ident, bool) or not isinstance(ident, int) or not 0 <= ident <= _MAX_INT_ID:
                raise ValueError("not a row id")
        elif not isinstance(ident, str) or len(ident) > 64 or not ident.isprintable():
            raise ValueError("not a row id")
        return when, ident
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInput("cursor", f"not a cursor this API gave out ({exc})", summary="invalid") from None
