"""Webhooks: register endpoints, see their deliveries, replay one; callbacks per message."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Path
from sqlmodel import col, select

from api.deps import CurrentKey, GatewayDep
from api.errors import ApiError
from api.schemas import CallbackSecretOut, DeliveryOut, WebhookIn, WebhookOut
from gateway.core import webhooks
from gateway.core.db import session
from gateway.core.errors import NotFound
from gateway.core.models import Webhook, WebhookDelivery

router = APIRouter(tags=["webhooks"])

# Row ids are PostgreSQL `integer`: a larger number names no row, and must not reach the database.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def webhook_out(hook: Webhook, *, secret: str | None = None) -> WebhookOut:
    return WebhookOut(
        id=hook.id,  # type: ignore[arg-type]
        url=hook.url,
        events=hook.events.split(","),
        enabled=hook.enabled,
        created_at=hook.created_at,
        secret=secret,
    )


def _own(s, hook_id: int, key_id: int | None) -> Webhook:
    hook = s.get(Webhook, hook_id)
    if hook is None or hook.api_key_id != key_id:
        raise ApiError(404, "not_found", f"webhook {hook_id} not found")
    return hook


@router.post("/v1/webhooks", status_code=201, response_model=WebhookOut)
def create_webhook(body: WebhookIn, key: CurrentKey, gateway: GatewayDep) -> WebhookOut:
    """The signing secret is returned once, here; store it with the receiver."""
    secret = body.secret or "whsec_" + secrets.token_urlsafe(24)
    hook = Webhook(api_key_id=key.id, url=str(body.url), secret=secret, events=webhooks.subscribed(body.events))
    with session(gateway.engine) as s:
        s.add(hook)
        s.commit()
        s.refresh(hook)
    return webhook_out(hook, secret=secret)


@router.get("/v1/webhooks", response_model=list[WebhookOut])
def list_webhooks(key: CurrentKey, gateway: GatewayDep) -> list[WebhookOut]:
    with session(gateway.engine) as s:
        hooks = s.exec(select(Webhook).where(col(Webhook.api_key_id) == key.id).order_by(col(Webhook.id))).all()
        return [webhook_out(h) for h in hooks]


@router.delete("/v1/webhooks/{hook_id}", status_code=204, responses={404: {}})
def delete_webhook(hook_id: RowId, key: CurrentKey, gateway: GatewayDep) -> None:
    # Reads, then writes: write=True, or SQLite refuses the write at once when another
    # connection committed in between ("database is locked", a 500).
    with session(gateway.engine, write=True) as s:
        hook = _own(s, hook_id, key.id)
        hook.enabled = False
        hook.disabled_at = gateway.clock.now()
        s.add(hook)
        s.commit()


@router.get("/v1/webhooks/{hook_id}/deliveries", response_model=list[DeliveryOut], responses={404: {}})
def list_deliveries(hook_id: RowId, key: CurrentKey, gateway: GatewayDep, limit: int = 50) -> list[DeliveryOut]:
    with session(gateway.engine) as s:
        _own(s, hook_id, key.id)
        rows = s.exec(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == hook_id)
            .order_by(col(WebhookDelivery.id).desc())
            .limit(max(1, min(limit, 200)))
        ).all()
        return [DeliveryOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/v1/webhook-deliveries/{delivery_id}/replay", status_code=202, responses={404: {}})
def replay_delivery(delivery_id: RowId, key: CurrentKey, gateway: GatewayDep) -> dict[str, int]:
    with session(gateway.engine) as s:
        delivery = s.get(WebhookDelivery, delivery_id)
        if delivery is None:
            raise ApiError(404, "not_found", f"webhook delivery {delivery_id} not found")
        if delivery.webhook_id is None:  # a message's callback: its API key's
            if delivery.api_key_id != key.id:
                raise ApiError(404, "not_found", f"webhook delivery {delivery_id} not found")
        else:
            _own(s, delivery.webhook_id, key.id)
    try:
        webhooks.replay(gateway.engine, delivery_id, now=gateway.clock.now())
    except NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    return {"id": delivery_id}


@router.get("/v1/callback-secret", response_model=CallbackSecretOut)
def get_callback_secret(key: CurrentKey, gateway: GatewayDep) -> CallbackSecretOut:
    """The secret that signs what is posted to your messages' `callback_url`s
    (`Modemgate-Signature`, as for webhooks). Made on first use, then always the same."""
    with session(gateway.engine, write=True) as s:
        secret = webhooks.callback_secret(s, key.id)  # type: ignore[arg-type]
        s.commit()
    return CallbackSecretOut(secret=secret)


@router.get("/v1/callback-deliveries", response_model=list[DeliveryOut])
def list_callback_deliveries(key: CurrentKey, gateway: GatewayDep, limit: int = 50) -> list[DeliveryOut]:
    """Events posted (or waiting to be posted) to your messages' `callback_url`s, newest first."""
    with session(gateway.engine) as s:
        rows = s.exec(
            select(WebhookDelivery)
            .where(col(WebhookDelivery.webhook_id).is_(None), col(WebhookDelivery.api_key_id) == key.id)
            .order_by(col(WebhookDelivery.id).desc())
            .limit(max(1, min(limit, 200)))
        ).all()
        return [DeliveryOut.model_validate(r, from_attributes=True) for r in rows]
