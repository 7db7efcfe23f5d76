"""Cursor pagination: newest first, the cursor names the last row of the previous page."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from api.errors import ApiError

__all__ = ["encode_cursor", "decode_cursor"]


def encode_cursor(created_at: datetime, ident: Any) -> str:
    raw = json.dumps([created_at.isoformat(), ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: type = str) -> tuple[datetime, Any]:
    """(timestamp, id) from a cursor; `kind` is the id's type (str or int)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, ident = json.loads(raw)
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise ValueError("no time zone")
        return when, kind(ident)
    except (ValueError, TypeError) as exc:
        raise ApiError(422, "invalid_request", f"cursor: not a cursor this API gave out ({exc})", fields=[{"field": "cursor", "message": "invalid"}]) from None
