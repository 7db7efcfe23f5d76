"""Webhooks: register endpoints, see their deliveries, replay one; callbacks per message."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ApiRoute, GatewayDep, RowId, SendKey, run_write
from api.schemas import CallbackSecretOut, DeliveryOut, WebhookIn, WebhookOut
from gateway.core import subscriptions, webhooks
from gateway.core.db import session
from gateway.core.models import Webhook, WebhookDelivery

router = APIRouter(route_class=ApiRoute, tags=["webhooks"])


def webhook_out(hook: Webhook, *, secret: str | None = None) -> WebhookOut:
    return WebhookOut(
        id=hook.id,  # type: ignore[arg-type]
        url=hook.url,
        events=hook.events.split(","),
        enabled=hook.enabled,
        created_at=hook.created_at,
        secret=secret,
    )


def deliveries_out(rows: list[WebhookDelivery]) -> list[DeliveryOut]:
    return [DeliveryOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/v1/webhooks", status_code=201, response_model=WebhookOut)
def create_webhook(body: WebhookIn, key: SendKey, gateway: GatewayDep) -> WebhookOut:
    """The signing secret is returned once, here; store it with the receiver."""
    hook = run_write(
        gateway, subscriptions.register, key.id, str(body.url), body.events, secret=body.secret,
        policy=gateway.egress_policy(),
    )  # fmt: skip
    return webhook_out(hook, secret=hook.secret)


@router.get("/v1/webhooks", response_model=list[WebhookOut])
def list_webhooks(key: SendKey, gateway: GatewayDep) -> list[WebhookOut]:
    with session(gateway.engine) as s:
        return [webhook_out(h) for h in subscriptions.webhooks_of(s, key.id)]


@router.delete("/v1/webhooks/{hook_id}", status_code=204, responses={404: {}})
def delete_webhook(hook_id: RowId, key: SendKey, gateway: GatewayDep) -> None:
    run_write(gateway, subscriptions.disable, hook_id, key.id, now=gateway.clock.now())


@router.get("/v1/webhooks/{hook_id}/deliveries", response_model=list[DeliveryOut], responses={404: {}})
def list_deliveries(hook_id: RowId, key: SendKey, gateway: GatewayDep, limit: int = 50) -> list[DeliveryOut]:
    with session(gateway.engine) as s:
        return deliveries_out(subscriptions.deliveries_of(s, hook_id, key.id, limit=limit))


@router.post("/v1/webhook-deliveries/{delivery_id}/replay", status_code=202, responses={404: {}})
def replay_delivery(delivery_id: RowId, key: SendKey, gateway: GatewayDep) -> dict[str, int]:
    subscriptions.replay(gateway.engine, delivery_id, key.id, now=gateway.clock.now())
    return {"id": delivery_id}


@router.get("/v1/callback-secret", response_model=CallbackSecretOut)
def get_callback_secret(key: SendKey, gateway: GatewayDep) -> CallbackSecretOut:
    """The secret that signs what is posted to your messages' `callback_url`s
    (`Modemgate-Signature`, as for webhooks). Made on first use, then always the same."""
    return CallbackSecretOut(secret=run_write(gateway, webhooks.callback_secret, key.id))


@router.get("/v1/callback-deliveries", response_model=list[DeliveryOut])
def list_callback_deliveries(key: SendKey, gateway: GatewayDep, limit: int = 50) -> list[DeliveryOut]:
    """Events posted (or waiting to be posted) to your messages' `callback_url`s, newest first."""
    with session(gateway.engine) as s:
        return deliveries_out(subscriptions.callback_deliveries(s, key.id, limit=limit))
