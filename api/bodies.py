"""Request bodies: the one JSON reader every body goes through, and the bodies read by hand
(the imports take JSON or CSV on one path).

`parse_json` refuses, with 422 naming the body and saying what is wrong, what Python's
`json` would take or choke on but the API does not: bytes that are not UTF-8, nesting
deeper than MAX_DEPTH (Python's parser recurses, and 3,000 levels end in RecursionError),
numbers longer than MAX_DIGITS digits (Python refuses over 4,300 with a ValueError, and a
4,000-digit one would reach the database), numbers out of a float's range, and `NaN` /
`Infinity`, which are not JSON. `JsonRequest` makes FastAPI's own body parsing use it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from itertools import accumulate
from typing import Any, NoReturn

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from api.errors import ApiError

__all__ = [
    "MAX_DEPTH",
    "MAX_DIGITS",
    "JsonRequest",
    "is_json",
    "read_body",
    "parse_json",
    "csv_numbers",
    "invalid_body",
    "hand_read_body",
    "hand_read_schemas",
]

MAX_DEPTH = 32
"""Arrays and objects nest at most this deep (a segment's rules need about ten)."""
MAX_DIGITS = 30
"""Digits a number in a body may have (ids and counts need ten, amounts twenty)."""

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


class JsonRequest(Request):
    """A request whose `json()` is `parse_json`: FastAPI reads model bodies through it."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


def is_json(request: Request) -> bool:
    """Whether the request says its body is JSON (`application/json` or `…+json`)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def parse_json(data: str | bytes) -> Any:
    """The JSON value of a body; ApiError 422 (field `body`, saying why) when it is not one
    the API takes. See the module's docstring for what is refused."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            _refuse(f"not valid JSON: not UTF-8 ({exc.reason} at byte {exc.start})", "not valid JSON: not UTF-8")
    depth = _depth(data)
    if depth > MAX_DEPTH:
        _refuse(f"JSON nested {depth} levels deep; at most {MAX_DEPTH} are taken", "nested too deep")
    try:
        return json.loads(data, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except _Refused as exc:
        _refuse(str(exc), str(exc))
    except json.JSONDecodeError as exc:
        _refuse(f"not valid JSON: {exc.msg} at character {exc.pos}", "not valid JSON")
    except (ValueError, RecursionError) as exc:  # not expected after the checks above
        _refuse(f"not valid JSON: {exc}", "not valid JSON")


def hand_read_body(model: type[BaseModel], *, csv_example: str) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its body by hand: JSON as `model`, or CSV.
    The model is recorded so that the schema defines it (`hand_read_schemas`)."""
    _HAND_READ.append(model)
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}},
                "text/csv": {"schema": {"type": "string"}, "example": csv_example},
            },
        }
    }


def hand_read_schemas() -> dict[str, Any]:
    """OpenAPI component schemas of the hand-read body models (and the models they use)."""
    _, found = models_json_schema([(m, "validation") for m in _HAND_READ], ref_template="#/components/schemas/{model}")
    return dict(found.get("$defs", {}))


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


# --- helpers ------------------------------------------------------------------------------

_HAND_READ: list[type[BaseModel]] = []
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class _Refused(ValueError):
    pass


def _refuse(message: str, short: str) -> NoReturn:
    raise ApiError(422, "invalid_request", f"body: {message}", fields=[{"field": "body", "message": short}])


def _depth(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets inside strings do not
    count), without parsing it: linear, no recursion."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return max(0, max(accumulate(map(_STEP.__getitem__, brackets.encode("ascii"))), default=0))


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise _Refused(f"a number has {digits} digits; at most {MAX_DIGITS} are taken")
    return int(text)


def _float(text: str) -> float:
    mantissa = len(re.sub(r"[^0-9]", "", re.split(r"[eE]", text)[0]))
    if mantissa > MAX_DIGITS:
        raise _Refused(f"a number has {mantissa} digits; at most {MAX_DIGITS} are taken")
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:40]} is out of range")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"not valid JSON: {name} is not a JSON value")
