"""The webhooks of an API key: register, list and disable endpoints, read what was posted
to them (and to its messages' callback URLs), replay one delivery.

A key sees only its own: another key's webhook or delivery is as not found as one that
never existed. Posting the events is `gateway.core.webhooks`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gateway.core import egress, webhooks
from gateway.core.db import session
from gateway.core.errors import NotFound
from gateway.core.models import Webhook, WebhookDelivery

__all__ = [
    "register",
    "own_webhook",
    "webhooks_of",
    "every_webhook",
    "disable",
    "deliveries_of",
    "callback_deliveries",
    "replay",
]

MAX_LISTED = 200


def register(
    s: Session,
    api_key_id: int | None,
    url: str,
    events: Iterable[str],
    secret: str | None = None,
    *,
    policy: egress.EgressPolicy,
) -> Webhook:
    """A new endpoint (flushed, not committed); its signing secret is made here unless given.
    InvalidInput (field `url`) for a URL the egress policy does not let the gateway post to."""
    hook = Webhook(
        api_key_id=api_key_id,
        url=egress.check_url(url, policy, field="url"),
        secret=secret or "whsec_" + secrets.token_urlsafe(24),
        events=webhooks.subscribed(events),
    )
    s.add(hook)
    s.flush()
    s.refresh(hook)
    return hook


def own_webhook(s: Session, hook_id: int, api_key_id: int | None) -> Webhook:
    """The webhook of `api_key_id`, else NotFound."""
    hook = s.get(Webhook, hook_id)
    if hook is None or hook.api_key_id != api_key_id:
        raise NotFound("webhook", hook_id)
    return hook


def webhooks_of(s: Session, api_key_id: int | None) -> list[Webhook]:
    """Every webhook of the key, disabled ones too, oldest first."""
    return list(s.exec(select(Webhook).where(Webhook.api_key_id == api_key_id).order_by(col(Webhook.id))))


def every_webhook(s: Session) -> list[Webhook]:
    """Every key's webhooks, enabled ones first (the operator console)."""
    return list(s.exec(select(Webhook).order_by(col(Webhook.enabled).desc(), col(Webhook.id))))


def disable(s: Session, hook_id: int, api_key_id: int | None, *, now: datetime) -> None:
    """Stop posting to the webhook; its deliveries stay readable."""
    hook = own_webhook(s, hook_id, api_key_id)
    hook.enabled = False
    hook.disabled_at = now
    s.add(hook)


def deliveries_of(s: Session, hook_id: int, api_key_id: int | None, *, limit: int) -> list[WebhookDelivery]:
    """The webhook's latest deliveries, newest first (1 to MAX_LISTED of them)."""
    own_webhook(s, hook_id, api_key_id)
    return _newest(s, WebhookDelivery.webhook_id == hook_id, limit=limit)


def callback_deliveries(s: Session, api_key_id: int | None, *, limit: int) -> list[WebhookDelivery]:
    """What was posted (or waits to be) to the key's messages' callback URLs, newest first."""
    return _newest(s, WebhookDelivery.webhook_id.is_(None), WebhookDelivery.api_key_id == api_key_id, limit=limit)  # type: ignore[union-attr]


def replay(engine: Engine, delivery_id: int, api_key_id: int | None, *, now: datetime) -> None:
    """Post a delivery of the key's again now, whatever became of it; NotFound if not the key's."""
    with session(engine) as s:
        delivery = s.get(WebhookDelivery, delivery_id)
        if delivery is None:
            raise NotFound("webhook delivery", delivery_id)
        if delivery.webhook_id is None:  # a message's callback: its API key's
            if delivery.api_key_id != api_key_id:
                raise NotFound("webhook delivery", delivery_id)
        else:
            own_webhook(s, delivery.webhook_id, api_key_id)
    webhooks.replay(engine, delivery_id, now=now)


def _newest(s: Session, *conditions: object, limit: int) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(*conditions).order_by(WebhookDelivery.id.desc())  # type: ignore[arg-type, union-attr]
    return list(s.exec(query.limit(max(1, min(limit, MAX_LISTED)))))
