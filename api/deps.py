"""What every route reads the same way: the running gateway, the caller's API key and the
scope the route needs of it, row ids and page parameters in the path and query, and
`run_write` for the gateway's writes.

Every /v1 route takes its key as `SendKey`, `MarketingKey` or `AdminKey`: the key must be
valid (else 401) and hold that scope (else 403 `insufficient_scope`). The routers are built
with `route_class=ApiRoute`, which checks both before the body is read, so that a caller
without a key, or without the scope, learns nothing from how its body is parsed.

Both are `async def` on purpose: FastAPI runs a plain `def` dependency in its thread pool,
one trip per dependency per request, and these two need no thread. Only a key not verified
recently is looked up in the database, and that lookup goes to the thread pool.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from api.bodies import JsonRequest, is_json
from api.errors import ApiError
from gateway.core import apikeys
from gateway.core.apikeys import Scope
from gateway.core.db import session
from gateway.core.models import ApiKey
from gateway.core.runtime import Gateway

__all__ = [
    "ApiRoute",
    "GatewayDep",
    "CurrentKey",
    "RequireScope",
    "SendKey",
    "MarketingKey",
    "AdminKey",
    "get_gateway",
    "current_key",
    "key_row",
    "route_scopes",
    "RowId",
    "Limit",
    "Cursor",
    "run_write",
]

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
    checked = getattr(request.state, "api_key", None)
    if isinstance(checked, ApiKey):  # ApiRoute looked it up before the body was read
        return checked
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "unauthorized", "missing API key: send Authorization: Bearer <key>")
    row = await key_row(request, gateway, key.strip())
    request.state.api_key = row
    return row


async def key_row(request: Request, gateway: Gateway, key: str) -> ApiKey:
    """The stored row of a plaintext `key` (from the recently verified ones, else the
    database), else ApiError 401."""
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


class RequireScope:
    """Dependency: the caller's API key, which must hold `scope` (else 403
    `insufficient_scope`, from `gateway.core.apikeys.require` through the error table)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, key: CurrentKey) -> ApiKey:
        apikeys.require(key, self.scope)
        return key

    def __repr__(self) -> str:
        return f"RequireScope({self.scope!r})"


SendKey = Annotated[ApiKey, Depends(RequireScope("send"))]
"""Messages, reports, the inbox, the key's own webhooks and callbacks, reading modems."""
MarketingKey = Annotated[ApiKey, Depends(RequireScope("marketing"))]
"""Contacts, lists, segments, consent, opt-outs, campaigns, conversions."""
AdminKey = Annotated[ApiKey, Depends(RequireScope("admin"))]
"""Operator actions: changing modems, the simulator's controls."""


def route_scopes(dependant: Dependant) -> list[Scope]:
    """The scopes a route's dependencies require, in the order they are declared."""
    return [d.call.scope for d in _dependencies(dependant) if isinstance(d.call, RequireScope)]


class ApiRoute(APIRoute):
    """A route that checks the API key and its scope before FastAPI reads the body (FastAPI
    parses a JSON body before it runs any dependency), and parses JSON bodies with
    `api.bodies.parse_json`. Routes that take no key are left as they are."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        needs_key = any(d.call is current_key for d in _dependencies(self.dependant))
        scopes = route_scopes(self.dependant)
        parses_json = self.body_field is not None

        async def checked_first(request: Request) -> Response:
            request = JsonRequest(request.scope, request.receive)
            if needs_key:
                key = await current_key(request, request.app.state.gateway)
                for scope in scopes:
                    apikeys.require(key, scope)
            if parses_json and is_json(request) and await request.body():
                await request.json()  # refused here with 422, not as FastAPI's 400
            return await handler(request)

        return checked_first


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def run_write(gateway: Gateway, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(session, …)` in one write transaction, committed, taking its turn with the
    gateway's other writers (SQLite has one)."""

    def work() -> T:
        with session(gateway.engine, write=True) as s:
            result = fn(s, *args, **kwargs)
            s.commit()
            return result

    return gateway.writes.now(work)
