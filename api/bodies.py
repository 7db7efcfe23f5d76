"""Request bodies read by hand: the imports take JSON or CSV on one path."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.errors import ApiError

__all__ = ["read_body", "parse_json", "csv_numbers", "invalid_body"]

_CSV_TYPES = ("text/csv", "application/csv", "text/plain")
_CSV_COLUMNS = ("number", "phone", "phone_number", "mobile", "msisdn")


async def read_body(request: Request) -> tuple[str, str]:
    """(kind, text) of a body that is JSON or CSV; 415 for other types, 422 if not UTF-8."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    kind = "json" if media == "application/json" or media.endswith("+json") else "csv" if media in _CSV_TYPES else ""
    if not kind:
        raise ApiError(415, "unsupported_media_type", "send application/json or text/csv")
    try:
        return kind, (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            422,
            "invalid_request",
            f"body: not UTF-8 ({exc.reason} at byte {exc.start})",
            fields=[{"field": "body", "message": "not UTF-8"}],
        ) from None


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ApiError(
            422,
            "invalid_request",
            f"body: not valid JSON ({exc})",
            fields=[{"field": "body", "message": "not valid JSON"}],
        ) from None


def csv_numbers(text: str) -> list[str | None]:
    """The numbers of a CSV: its number column, or its first column when it has no header."""
    text = text.lstrip("\ufeff")
    first_line = text.splitlines()[0] if text.strip() else ""
    delimiter = max(",;\t", key=first_line.count)
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise ApiError(
            422,
            "invalid_request",
            f"body: not valid CSV ({exc})",
            fields=[{"field": "body", "message": "not valid CSV"}],
        ) from None
    if not rows:
        return []
    header = [c.strip().lower() for c in rows[0]]
    column = next((header.index(name) for name in _CSV_COLUMNS if name in header), None)
    if column is None:
        return [r[0].strip() for r in rows]
    return [r[column].strip() if column < len(r) else None for r in rows[1:]]


def invalid_body(exc: ValidationError) -> RequestValidationError:
    """A body validated by hand, reported like one FastAPI validated."""
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])
