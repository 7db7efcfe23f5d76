"""Webhooks: events queued in the same transaction as the change they report, then
delivered signed, retried with backoff for 24 hours, and replayable by hand.

Because an event row is written in the transaction that changes the message (or stores
the inbound SMS), there is no window in which a change is committed but its event lost.
A delivery is leased while it is being posted, so two gateway processes on one database
never post the same delivery at the same time. Receivers get at-least-once delivery and
can deduplicate on the `Modemgate-Delivery` header.

A message submitted with a `callback_url` also has its own `message.status` and
`delivery_report` events posted there, through the same queue, signed the same way with
its API key's callback secret (`callback_secret`, shown by `GET /v1/callback-secret`).

Headers of every request:
    Content-Type: application/json
    Modemgate-Event: <event type>
    Modemgate-Delivery: <delivery id>
    Modemgate-Signature: t=<unix>,v1=<HMAC-SHA256(secret, "<t>.<body>") in hex>
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gateway.core.db import session, transaction
from gateway.core.errors import NotFound
from gateway.core.models import ApiKey, Webhook, WebhookDelivery
from gateway.core.signing import SIGNATURE_HEADER, sign

__all__ = [
    "EVENT_TYPES",
    "enqueue",
    "message_status",
    "callback_secret",
    "deliver_due",
    "replay",
    "backoff",
    "GIVE_UP_AFTER",
]

log = logging.getLogger("modemgate.webhooks")

EVENT_TYPES = ("message.status", "message.inbound", "delivery_report", "optout", "optin")
GIVE_UP_AFTER = timedelta(hours=24)
_LEASE = timedelta(seconds=60)


def backoff(attempt: int) -> timedelta:
    """Delay after failed attempt n: 10 s, 20 s, 40 s … capped at 1 hour."""
    return timedelta(seconds=min(3600, 10 * 2 ** max(0, attempt - 1)))


def enqueue(
    s: Session,
    event: str,
    data: dict[str, Any],
    *,
    now: datetime,
    api_key_id: int | None = None,
    callback_url: str | None = None,
) -> int:
    """Queue `event` for every enabled webhook subscribed to it (in the caller's transaction).

    Webhooks registered under an API key get that key's events; `api_key_id` None
    (events with no owner, such as inbound messages) goes to all of them. With
    `callback_url` (a message's own), the event is queued for that URL too, signed with
    the key's callback secret. Returns how many deliveries were queued.
    """
    hooks = s.exec(select(Webhook).where(Webhook.enabled == True)).all()  # noqa: E712
    targets: list[dict[str, Any]] = []
    for hook in hooks:
        if event not in hook.events.split(","):
            continue
        if api_key_id is not None and hook.api_key_id is not None and hook.api_key_id != api_key_id:
            continue
        targets.append({"webhook_id": hook.id})
    if callback_url is not None and api_key_id is not None:
        callback_secret(s, api_key_id)  # made now, so delivery never waits on it
        targets.append({"url": callback_url, "api_key_id": api_key_id})
    for target in targets:
        delivery = WebhookDelivery(event=event, payload="", next_attempt_at=now, created_at=now, **target)
        s.add(delivery)
        s.flush()  # the id goes into the body, so a receiver can deduplicate
        delivery.payload = json.dumps(
            {"id": delivery.id, "event": event, "created_at": now.isoformat(), "data": data},
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        )
    s.flush()
    return len(targets)


class _MessageLike(Protocol):
    id: str
    status: str
    recipient: str
    last_error: str | None
    api_key_id: int | None
    callback_url: str | None


def message_status(s: Session, message: _MessageLike, *, now: datetime) -> int:
    """Queue a `message.status` event for the message's current status (caller's transaction)."""
    return enqueue(
        s,
        "message.status",
        {"id": message.id, "status": message.status, "recipient": message.recipient, "error": message.last_error},
        now=now,
        api_key_id=message.api_key_id,
        callback_url=message.callback_url,
    )


def callback_secret(s: Session, api_key_id: int) -> str:
    """The secret that signs callbacks for `api_key_id`'s messages, made on first use."""
    key = s.exec(select(ApiKey).where(ApiKey.id == api_key_id).with_for_update()).first()
    if key is None:
        raise NotFound("api key", api_key_id)
    if key.callback_secret is None:
        key.callback_secret = "cbs_" + secrets.token_urlsafe(32)
        s.add(key)
        s.flush()
    return key.callback_secret


async def deliver_due(engine: Engine, client: httpx.AsyncClient, *, now: datetime, limit: int = 50) -> int:
    """Post every delivery that is due (up to `limit`); returns how many succeeded."""
    batch = _lease_due(engine, now=now, limit=limit)
    ok = 0
    for delivery_id, url, secret, event, payload in batch:
        body = payload.encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Modemgate-Event": event,
            "Modemgate-Delivery": str(delivery_id),
            SIGNATURE_HEADER: sign(secret, body, int(now.timestamp())),
        }
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(url, content=body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        _record(engine, delivery_id, now=now, status=status, error=error)
        if error is None:
            ok += 1
        else:
            log.info("webhook delivery %s to %s failed: %s", delivery_id, _redact(url), error)
    return ok


def replay(engine: Engine, delivery_id: int, *, now: datetime) -> None:
    """Queue a delivery again now, whether it was delivered, given up or waiting."""
    with transaction(engine) as conn:
        result = conn.execute(
            sa.update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == delivery_id)
            .values(next_attempt_at=now, delivered_at=None, gave_up_at=None, lease_until=None)
        )
        if result.rowcount == 0:
            raise NotFound("webhook delivery", delivery_id)


def pending_count(engine: Engine) -> int:
    with session(engine) as s:
        return s.exec(
            select(sa.func.count()).select_from(WebhookDelivery).where(
                col(WebhookDelivery.delivered_at).is_(None), col(WebhookDelivery.gave_up_at).is_(None)
            )
        ).one()


def _lease_due(engine: Engine, *, now: datetime, limit: int) -> list[tuple[int, str, str, str, str]]:
    """Lease up to `limit` due deliveries: (id, url, secret, event, payload) each."""
    with transaction(engine) as conn:
        query = (
            sa.select(
                col(WebhookDelivery.id),
                sa.func.coalesce(col(Webhook.url), col(WebhookDelivery.url)),
                sa.func.coalesce(col(Webhook.secret), col(ApiKey.callback_secret)),
                col(WebhookDelivery.event),
                col(WebhookDelivery.payload),
            )
            .outerjoin(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
            .outerjoin(ApiKey, col(ApiKey.id) == col(WebhookDelivery.api_key_id))
            .where(
                col(WebhookDelivery.delivered_at).is_(None),
                col(WebhookDelivery.gave_up_at).is_(None),
                col(WebhookDelivery.next_attempt_at) <= now,
                sa.or_(col(WebhookDelivery.lease_until).is_(None), col(WebhookDelivery.lease_until) <= now),
                sa.or_(col(Webhook.enabled) == True, col(WebhookDelivery.webhook_id).is_(None)),  # noqa: E712
            )
            .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
        rows = [tuple(r) for r in conn.execute(query)]
        if rows:
            conn.execute(
                sa.update(WebhookDelivery)
                .where(col(WebhookDelivery.id).in_([r[0] for r in rows]))
                .values(lease_until=now + _LEASE)
            )
    return rows  # type: ignore[return-value]


def _record(engine: Engine, delivery_id: int, *, now: datetime, status: int | None, error: str | None) -> None:
    with transaction(engine) as conn:
        row = conn.execute(
            sa.select(col(WebhookDelivery.attempts), col(WebhookDelivery.created_at)).where(col(WebhookDelivery.id) == delivery_id)
        ).one()
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_status": status, "last_error": error, "lease_until": None}
        if error is None:
            values["delivered_at"] = now
        else:
            retry_at = now + backoff(attempts)
            created = row.created_at
            if created.tzinfo is None:
                created = created.replace(tzinfo=now.tzinfo)
            if retry_at - created > GIVE_UP_AFTER:
                values["gave_up_at"] = now
            values["next_attempt_at"] = retry_at
        conn.execute(sa.update(WebhookDelivery).where(col(WebhookDelivery.id) == delivery_id).values(**values))


def _redact(url: str) -> str:
    """A URL for logs: query strings often carry tokens."""
    return url.split("?", 1)[0]


def subscribed(events: Iterable[str]) -> str:
    """Validate and join event types for storage."""
    chosen = [e.strip() for e in events if e.strip()]
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown or not chosen:
        raise ValueError(f"events must be some of {', '.join(EVENT_TYPES)}; got {', '.join(unknown) or 'none'}")
    return ",".join(dict.fromkeys(chosen))
