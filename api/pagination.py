"""Cursor pagination: newest first, the cursor names the last row of the previous page."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from collections.abc import Callable
from typing import Any, TypeVar

from api.errors import ApiError

T = TypeVar("T")

__all__ = ["encode_cursor", "decode_cursor", "page_of"]


def page_of(rows: list[T], limit: int, position: Callable[[T], tuple[datetime, Any]]) -> tuple[list[T], str | None]:
    """Cut `limit` + 1 fetched rows to one page; the cursor points after its last row."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(*position(rows[-1]))


def encode_cursor(created_at: datetime, ident: Any) -> str:
    raw = json.dumps([created_at.isoformat(), ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: type = str) -> tuple[datetime, Any]:
    """(timestamp, id) from a cursor; `kind` is the id's type (str or int).

    A cursor comes back from the client, so it is checked like any input: an aware
    timestamp that UTC can hold, and an id of the right type and range for the database.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, ident = json.loads(raw)
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise ValueError("no time zone")
        when = when.astimezone(timezone.utc)  # OverflowError at the ends of the calendar
        if kind is int:
            if isinstance(ident, bool) or not isinstance(ident, int) or not 0 <= ident <= _MAX_INT_ID:
                raise ValueError("not a row id")
        elif not isinstance(ident, str) or len(ident) > 64 or not ident.isprintable():
            raise ValueError("not a row id")
        return when, ident
    except (ValueError, TypeError, OverflowError) as exc:
        raise ApiError(
            422,
            "invalid_request",
            f"cursor: not a cursor this API gave out ({exc})",
            fields=[{"field": "cursor", "message": "invalid"}],
        ) from None


_MAX_INT_ID = 2**31 - 1  # integer ids are PostgreSQL `integer`
