"""Settings: API keys (made here and shown once, revoked here) and webhooks: register an
endpoint (for one key's events or the whole gateway's; the same egress check as the API,
its signing secret shown once), stop one, and every webhook's recent deliveries, each of
which can be sent again; admins only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from api.console.web import ConsoleRoute, Viewer, check_csrf, gateway_of, render, require
from api.deps import RowId
from gateway.core import apikeys, subscriptions, webhooks
from gateway.core.db import session
from gateway.core.errors import InvalidInput, NotFound
from gateway.core.models import ApiKey, Webhook
from gateway.core.runtime import Gateway

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _keys(gateway: Gateway) -> list[ApiKey]:
    with session(gateway.engine) as s:
        return list(s.exec(select(ApiKey).order_by(col(ApiKey.id).desc())))


@router.get("/settings/keys")
async def keys(request: Request, signed: Viewer) -> Response:
    require(signed, "admin")
    return render(request, "keys.html", keys=await run_in_threadpool(_keys, gateway_of(request)), new_key=None)


@router.post("/settings/keys")
async def create_key(
    request: Request,
    signed: Viewer,
    csrf: Annotated[str | None, Form(max_length=100)] = None,
    name: Annotated[str, Form(max_length=100)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "admin")
    if not name.strip():
        raise InvalidInput("name", "say what the key is for")
    gateway = gateway_of(request)

    def work() -> Any:
        with session(gateway.engine, write=True) as s:
            new, _ = apikeys.create(s, name.strip(), scopes or apikeys.DEFAULT_SCOPES)
            s.commit()
            return new

    new = await run_in_threadpool(gateway.writes.now, work)
    # Shown in this answer only; the page is not cached and the key is never stored.
    response = render(request, "keys.html", keys=await run_in_threadpool(_keys, gateway), new_key=new.key)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/settings/keys/{prefix}/revoke")
async def revoke_key(
    request: Request, prefix: str, signed: Viewer, csrf: Annotated[str | None, Form(max_length=100)] = None
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "admin")
    gateway = gateway_of(request)

    def work() -> None:
        with session(gateway.engine, write=True) as s:
            key = s.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
            if key is None:
                raise NotFound("API key", prefix)
            apikeys.revoke(s, key, now=gateway.clock.now())
            s.commit()

    await run_in_threadpool(gateway.writes.now, work)
    request.app.state.verified_keys.forget_all()
    return RedirectResponse("/settings/keys", status_code=303)


RECENT = 10


def _hooks(gateway: Gateway) -> list[tuple[Any, str | None, list[Any]]]:
    with session(gateway.engine) as s:
        prefixes = {k.id: k.prefix for k in s.exec(select(ApiKey))}
        return [
            (
                hook,
                prefixes.get(hook.api_key_id),
                subscriptions.deliveries_of(s, hook.id, hook.api_key_id, limit=RECENT),  # type: ignore[arg-type]
            )
            for hook in subscriptions.every_webhook(s)
        ]


async def _webhooks_page(request: Request, **shown: Any) -> Response:
    gateway = gateway_of(request)
    hooks = await run_in_threadpool(_hooks, gateway)
    keys = [k for k in await run_in_threadpool(_keys, gateway) if k.revoked_at is None]
    context = {"replayed": None, "new_hook": None, **shown}
    return render(request, "webhooks.html", hooks=hooks, keys=keys, event_types=webhooks.EVENT_TYPES, **context)


@router.get("/settings/webhooks")
async def webhook_list(request: Request, signed: Viewer) -> Response:
    require(signed, "admin")
    return await _webhooks_page(request)


@router.post("/settings/webhooks")
async def register_webhook(
    request: Request,
    signed: Viewer,
    csrf: Annotated[str | None, Form(max_length=100)] = None,
    url: Annotated[str, Form(max_length=2000)] = "",
    events: Annotated[list[str] | None, Form(max_length=40)] = None,
    key: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """A new endpoint, checked as `POST /v1/webhooks` checks it; without a key it gets the
    events of every key (and those with no key, such as inbound messages)."""
    check_csrf(signed, csrf)
    require(signed, "admin")
    gateway = gateway_of(request)

    def work() -> Any:
        with session(gateway.engine, write=True) as s:
            key_id = None
            if key:
                found = s.exec(select(ApiKey).where(ApiKey.prefix == key, col(ApiKey.revoked_at).is_(None))).first()
                if found is None:
                    raise NotFound("API key", key)
                key_id = found.id
            hook = subscriptions.register(s, key_id, url.strip(), events or [], policy=gateway.egress_policy())
            s.commit()
            return hook

    hook = await run_in_threadpool(gateway.writes.now, work)
    # The secret is in this answer only: not cached.
    response = await _webhooks_page(request, new_hook=hook)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/settings/webhooks/{hook_id}/disable")
async def disable_webhook(
    request: Request, hook_id: RowId, signed: Viewer, csrf: Annotated[str | None, Form(max_length=100)] = None
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "admin")
    gateway = gateway_of(request)

    def work() -> None:
        with session(gateway.engine, write=True) as s:
            hook = s.get(Webhook, hook_id)
            if hook is None:
                raise NotFound("webhook", hook_id)
            subscriptions.disable(s, hook_id, hook.api_key_id, now=gateway.clock.now())
            s.commit()

    await run_in_threadpool(gateway.writes.now, work)
    return RedirectResponse("/settings/webhooks", status_code=303)


@router.post("/settings/webhooks/deliveries/{delivery_id}/replay")
async def replay(
    request: Request, delivery_id: RowId, signed: Viewer, csrf: Annotated[str | None, Form(max_length=100)] = None
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "admin")
    gateway = gateway_of(request)
    await run_in_threadpool(gateway.writes.now, webhooks.replay, gateway.engine, delivery_id, now=gateway.clock.now())
    return await _webhooks_page(request, replayed=delivery_id)
