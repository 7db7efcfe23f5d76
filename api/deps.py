"""What every route reads the same way: the running gateway, the caller's API key, row ids
and page parameters in the path and query, and `run_write` for the gateway's writes.

Both are `async def` on purpose: FastAPI runs a plain `def` dependency in its thread pool,
one trip per dependency per request, and these two need no thread. Only a key not verified
recently is looked up in the database, and that lookup goes to the thread pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError
from gateway.core import apikeys
from gateway.core.db import session
from gateway.core.models import ApiKey
from gateway.core.runtime import Gateway

__all__ = ["GatewayDep", "CurrentKey", "get_gateway", "current_key", "RowId", "Limit", "Cursor", "run_write"]

T = TypeVar("T")

# Row ids are PostgreSQL `integer`: a larger number names no row, and must not reach the database.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=200)]

_DUMMY_HASH = apikeys.hash_key("mg_00000000_" + "0" * 32)


async def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def current_key(request: Request, gateway: GatewayDep) -> ApiKey:
    """The API key of the request (`Authorization: Bearer <key>`), else 401.

    The stored hash is compared in constant time; a wrong key and a missing one get
    the same answer, and the key itself is never logged.
    """
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "unauthorized", "missing API key: send Authorization: Bearer <key>")
    key = key.strip()
    verified: apikeys.VerifiedKeys[ApiKey] = request.app.state.verified_keys
    row = verified.get(key)
    if row is None:
        row = await run_in_threadpool(_look_up, gateway, key)
        verified.put(key, row)
    return row


def _look_up(gateway: Gateway, key: str) -> ApiKey:
    prefix = apikeys.parse_prefix(key)
    row = None
    if prefix is not None:
        with session(gateway.engine) as s:
            row = s.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    # Compare even when no row was found, so timing does not tell which prefixes exist.
    hashed = row.key_hash if row is not None else _DUMMY_HASH
    if not apikeys.matches(key, hashed) or row is None or row.revoked_at is not None:
        raise ApiError(401, "unauthorized", "invalid API key")
    return row


CurrentKey = Annotated[ApiKey, Depends(current_key)]


def run_write(gateway: Gateway, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(session, …)` in one write transaction, committed, taking its turn with the
    gateway's other writers (SQLite has one)."""

    def work() -> T:
        with session(gateway.engine, write=True) as s:
            result = fn(s, *args, **kwargs)
            s.commit()
            return result

    return gateway.writes.now(work)
