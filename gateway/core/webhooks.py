"""Webhooks: events queued in the same transaction as the change they report, then
delivered signed, retried with backoff for 24 hours, and replayable by hand.

Because an event row is written in the transaction that changes the message (or stores
the inbound SMS), there is no window in which a change is committed but its event lost.
A delivery is leased while it is being posted, so two gateway processes on one database
never post the same delivery at the same time. Receivers get at-least-once delivery and
can deduplicate on the `Modemgate-Delivery` header; a few deliveries to one receiver are
posted at once, so events may arrive out of order (each carries its `created_at`).

A message submitted with a `callback_url` also has its own `message.status` and
`delivery_report` events posted there, through the same queue, signed the same way with
its API key's callback secret (`callback_secret`, shown by `GET /v1/callback-secret`).

Each attempt is posted by the courier (gateway.core.courier): per receiving server, a few
at a time, each attempt cut at an overall time limit, behind a circuit breaker, and only to
addresses the egress policy allows (gateway.core.egress). A revoked API key's webhooks and
callbacks get nothing more.

Headers of every request:
    Content-Type: application/json
    Modemgate-Event: <event type>
    Modemgate-Delivery: <delivery id>
    Modemgate-Signature: t=<unix>,v1=<HMAC-SHA256(secret, "<t>.<body>") in hex>
                         (t is the time of this attempt: every attempt is signed anew)
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from gateway.core import dlr, egress
from gateway.core.db import connection_of, rowcount, session, transaction
from gateway.core.errors import InvalidInput, NotFound
from gateway.core.hookpolicy import GIVE_UP_AFTER, backoff, next_attempt
from gateway.core.models import ApiKey, Webhook, WebhookDelivery

if TYPE_CHECKING:
    import httpx

__all__ = [
    "EVENT_TYPES",
    "Due",
    "endpoint",
    "enqueue",
    "message_status",
    "callback_secret",
    "disable_for_key",
    "deliver_due",
    "lease_due",
    "record",
    "replay",
    "backoff",
    "GIVE_UP_AFTER",
]

log = logging.getLogger("modemgate.webhooks")

EVENT_TYPES = (
    "message.status", "message.inbound", "delivery_report", "optout", "optin",
    # two-way automation (gateway.automation)
    "keyword.matched", "survey.answered", "sequence.step_sent", "sequence.exited",
)  # fmt: skip
REVOKED = "key_revoked"  # last_error of deliveries dropped when their key was revoked


def disable_for_key(s: Session, api_key_id: int, *, now: datetime) -> int:
    """A revoked key's webhooks stop, and nothing more is posted for it: its webhooks are
    disabled and its waiting deliveries (webhooks' and callbacks') given up. Returns how
    many deliveries were dropped."""
    hook_ids = select(col(Webhook.id)).where(col(Webhook.api_key_id) == api_key_id)
    s.execute(
        sa.update(Webhook)
        .where(col(Webhook.api_key_id) == api_key_id, col(Webhook.enabled) == True)  # noqa: E712
        .values(enabled=False, disabled_at=now)
    )
    dropped = s.execute(
        sa.update(WebhookDelivery)
        .where(
            sa.or_(col(WebhookDelivery.api_key_id) == api_key_id, col(WebhookDelivery.webhook_id).in_(hook_ids)),
            col(WebhookDelivery.delivered_at).is_(None),
            col(WebhookDelivery.gave_up_at).is_(None),
        )
        .values(gave_up_at=now, last_error=REVOKED, lease_until=None)
    )
    return rowcount(dropped)


def enqueue(
    c: Connection | Session,
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
    conn = connection_of(c)
    targets: list[dict[str, Any]] = []
    for hook_id, hook_key, url, events in conn.execute(_ENABLED_HOOKS):
        if event not in events.split(","):
            continue
        if api_key_id is not None and hook_key is not None and hook_key != api_key_id:
            continue
        targets.append({"webhook_id": hook_id, "url": None, "api_key_id": None, "endpoint": endpoint(hook_key, url)})
    if callback_url is not None and api_key_id is not None:
        key = _callback_key(conn, api_key_id)  # its secret made now, so delivery never waits on it
        if key.revoked_at is None:
            targets.append(
                {
                    "webhook_id": None,
                    "url": callback_url,
                    "api_key_id": api_key_id,
                    "endpoint": endpoint(api_key_id, callback_url),
                }
            )
    for target in targets:
        delivery_id = conn.execute(_INSERT_DELIVERY, {"event": event, "now": now, **target}).scalar_one()
        # The id goes into the body, so a receiver can deduplicate.
        body = json.dumps(
            {"id": delivery_id, "event": event, "created_at": now.isoformat(), "data": data},
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        )
        conn.execute(_SET_PAYLOAD, {"delivery_id": delivery_id, "body": body})
    return len(targets)


def endpoint(api_key_id: int | None, url: str) -> str:
    """Whose deliveries to which server (`7 https://hooks.example:443`): the unit of the
    courier's concurrency and circuit breaker. The key is part of it, so that one key's
    hanging receiver holds up no other key's events, even on the same server."""
    return f"{api_key_id if api_key_id is not None else '-'} {egress.endpoint_of(url)}"


class _MessageLike(dlr.MessageLike, Protocol):
    @property
    def callback_url(self) -> str | None: ...


def message_status(c: Connection | Session, message: _MessageLike, *, now: datetime) -> int:
    """Queue a `message.status` event for the message's current status (caller's transaction),
    and the Kannel-style delivery report it stands for when the message asked for one."""
    conn = connection_of(c)
    dlr.on_status(conn, message, now=now)
    return enqueue(
        conn,
        "message.status",
        {"id": message.id, "status": message.status, "recipient": message.recipient, "error": message.last_error},
        now=now,
        api_key_id=message.api_key_id,
        callback_url=message.callback_url,
    )


def callback_secret(c: Connection | Session, api_key_id: int) -> str:
    """The secret that signs callbacks for `api_key_id`'s messages, made on first use."""
    secret = _callback_key(connection_of(c), api_key_id).callback_secret
    assert secret is not None
    return secret


@dataclass(frozen=True)
class _CallbackKey:
    revoked_at: datetime | None
    callback_secret: str | None


def _callback_key(conn: Connection, api_key_id: int) -> _CallbackKey:
    key = conn.execute(_LOCK_KEY, {"key_id": api_key_id}).first()
    if key is None:
        raise NotFound("api key", api_key_id)
    if key.callback_secret is not None:
        return _CallbackKey(key.revoked_at, key.callback_secret)
    secret = "cbs_" + secrets.token_urlsafe(32)
    conn.execute(_SET_SECRET, {"key_id": api_key_id, "secret": secret})
    return _CallbackKey(key.revoked_at, secret)


# The statements of the hot path (every report and status change queues events), built
# once so that SQLAlchemy compiles each once.
_HOOK: sa.Table = Webhook.__table__  # type: ignore[attr-defined]
_KEY: sa.Table = ApiKey.__table__  # type: ignore[attr-defined]
_DELIVERY: sa.Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
_ENABLED_HOOKS = (
    sa.select(_HOOK.c.id, _HOOK.c.api_key_id, _HOOK.c.url, _HOOK.c.events)
    .select_from(_HOOK.outerjoin(_KEY, _KEY.c.id == _HOOK.c.api_key_id))
    .where(_HOOK.c.enabled == sa.true(), _KEY.c.revoked_at.is_(None))
    .order_by(_HOOK.c.id)
)
_INSERT_DELIVERY = (
    sa.insert(_DELIVERY)
    .values(
        event=sa.bindparam("event"),
        payload="",
        webhook_id=sa.bindparam("webhook_id"),
        url=sa.bindparam("url"),
        api_key_id=sa.bindparam("api_key_id"),
        endpoint=sa.bindparam("endpoint"),
        attempts=0,
        next_attempt_at=sa.bindparam("now"),
        created_at=sa.bindparam("now"),
    )
    .returning(_DELIVERY.c.id)
)
_SET_PAYLOAD = (
    sa.update(_DELIVERY).where(_DELIVERY.c.id == sa.bindparam("delivery_id")).values(payload=sa.bindparam("body"))
)
_LOCK_KEY = (
    sa.select(_KEY.c.revoked_at, _KEY.c.callback_secret).where(_KEY.c.id == sa.bindparam("key_id")).with_for_update()
)
_SET_SECRET = sa.update(_KEY).where(_KEY.c.id == sa.bindparam("key_id")).values(callback_secret=sa.bindparam("secret"))


async def deliver_due(engine: Engine, client: httpx.AsyncClient, *, now: datetime, limit: int = 50) -> int:
    """Post every delivery that is due at `now` (up to `limit`) through `client`, as one
    round of the courier with the clock held at `now`; returns how many succeeded."""
    from gateway.core.courier import Courier, HeldClock  # the courier builds on this module

    courier = Courier(engine, client, HeldClock(now), total=limit)
    return await courier.settle()


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
            select(sa.func.count())
            .select_from(WebhookDelivery)
            .where(col(WebhookDelivery.delivered_at).is_(None), col(WebhookDelivery.gave_up_at).is_(None))
        ).one()


@dataclass(frozen=True)
class Due:
    """A leased delivery, with what posting it takes."""

    id: int
    endpoint: str
    url: str
    secret: str
    event: str
    payload: str
    attempts: int
    created_at: datetime


def lease_due(
    engine: Engine,
    *,
    now: datetime,
    slots: Callable[[str], int],
    skip: Collection[str] = (),
    limit: int,
    lease: timedelta,
) -> list[Due]:
    """Lease due deliveries for up to `limit` attempts that start now: at most `slots(endpoint)`
    for each endpoint, none for the endpoints in `skip` (busy or paused), none for a disabled
    webhook or a revoked key. The lease keeps other gateway processes off them meanwhile."""
    if limit <= 0:
        return []
    owner = sa.func.coalesce(col(Webhook.api_key_id), col(WebhookDelivery.api_key_id))
    endpoint = sa.func.coalesce(col(WebhookDelivery.endpoint), "")
    with transaction(engine) as conn:
        query = (
            sa.select(
                col(WebhookDelivery.id),
                endpoint,
                sa.func.coalesce(col(Webhook.url), col(WebhookDelivery.url)),
                sa.func.coalesce(col(Webhook.secret), col(ApiKey.callback_secret)),
                col(WebhookDelivery.event),
                col(WebhookDelivery.payload),
                col(WebhookDelivery.attempts),
                col(WebhookDelivery.created_at),
            )
            .outerjoin(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
            .outerjoin(ApiKey, col(ApiKey.id) == owner)
            .where(
                col(WebhookDelivery.delivered_at).is_(None),
                col(WebhookDelivery.gave_up_at).is_(None),
                col(WebhookDelivery.next_attempt_at) <= now,
                sa.or_(col(WebhookDelivery.lease_until).is_(None), col(WebhookDelivery.lease_until) <= now),
                sa.or_(col(Webhook.enabled) == True, col(WebhookDelivery.webhook_id).is_(None)),  # noqa: E712
                col(ApiKey.revoked_at).is_(None),
            )
            .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
            # Busy endpoints are left out in the query, so a slow one's backlog cannot fill it.
            .limit(max(limit * 4, 100))
        )
        if skip:
            query = query.where(endpoint.not_in(list(skip)))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
        chosen: list[Due] = []
        taken: dict[str, int] = {}
        for delivery_id, ep, url, secret, event, payload, attempts, created in conn.execute(query):
            if taken.get(ep, 0) >= slots(ep):
                continue
            taken[ep] = taken.get(ep, 0) + 1
            assert delivery_id is not None
            created = created if created.tzinfo is not None else created.replace(tzinfo=now.tzinfo)
            chosen.append(Due(delivery_id, ep, url, secret, event, payload, attempts, created))
            if len(chosen) >= limit:
                break
        if chosen:
            conn.execute(
                sa.update(WebhookDelivery)
                .where(col(WebhookDelivery.id).in_([d.id for d in chosen]))
                .values(lease_until=now + lease)
            )
    return chosen


def record(engine: Engine, due: Due, *, attempted_at: datetime, status: int | None, error: str | None) -> None:
    """The outcome of one attempt; a failed one is due again after its backoff, counted from
    this attempt (hookpolicy.next_attempt), or given up."""
    with transaction(engine) as conn:
        query = sa.select(col(WebhookDelivery.attempts)).where(col(WebhookDelivery.id) == due.id)
        attempts = conn.execute(query).scalar_one() + 1
        values: dict[str, Any] = {"attempts": attempts, "last_status": status, "last_error": error, "lease_until": None}
        if error is None:
            values["delivered_at"] = attempted_at
        else:
            retry_at = next_attempt(due.id, attempts, attempted_at, due.created_at)
            if retry_at is None:
                values["gave_up_at"] = attempted_at
                retry_at = attempted_at + backoff(attempts)
            values["next_attempt_at"] = retry_at
        conn.execute(sa.update(WebhookDelivery).where(col(WebhookDelivery.id) == due.id).values(**values))


def subscribed(events: Iterable[str]) -> str:
    """Validate and join event types for storage."""
    chosen = [e.strip() for e in events if e.strip()]
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown or not chosen:
        raise InvalidInput("events", f"must be some of {', '.join(EVENT_TYPES)}; got {', '.join(unknown) or 'none'}")
    return ",".join(dict.fromkeys(chosen))
