"""Kannel-style delivery reports: a message sent with a `dlr-url` has that URL fetched (GET,
escape codes filled in) for each event its `dlr-mask` names.

The fetch is queued as a webhook delivery (event `kannel.dlr`, the URL already filled in)
in the transaction that changes the message, so it is as durable as the change, retried
like a webhook, and posted by the courier only to addresses the egress policy allows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from gateway.core import egress
from gateway.core.db import connection_of
from gateway.core.dlrurl import SUBMITTED, DlrEvent, escape_values, event_for_status, expand, wanted
from gateway.core.models import DlrRequest, Part, WebhookDelivery

__all__ = ["EVENT", "MessageLike", "on_status", "on_event", "on_submitted"]

EVENT = "kannel.dlr"  # the webhook delivery's event: fetched with GET, no body


class MessageLike(Protocol):
    """What a status event reads of a message (a `Message` row, a Core row of the message
    table, or a test's stand-in)."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def recipient(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def modem_id(self) -> str | None: ...
    @property
    def sent_at(self) -> datetime | None: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def api_key_id(self) -> int | None: ...


def on_status(c: Connection | Session, message: MessageLike, *, now: datetime) -> int:
    """Queue the fetch the message's new status stands for, if its mask asks (caller's
    transaction). Returns how many were queued (0 or 1)."""
    event = event_for_status(message.status, sent_before=message.sent_at is not None, error=message.last_error)
    return 0 if event is None else on_event(c, message, event, now=now)


def on_submitted(c: Connection | Session, message: MessageLike, *, now: datetime) -> int:
    """Queue the "accepted by the SMSC" fetch for a message whose reports came in before its
    last part's +CMGS was committed: it ends `delivered` or `failed` at once, yet the SMSC
    did take it first, and a Kannel client counts on hearing so."""
    return on_event(c, message, DlrEvent(SUBMITTED, "ACK/"), now=now)


def on_event(c: Connection | Session, message: MessageLike, event: DlrEvent, *, now: datetime) -> int:
    """Queue the fetch for `event` if the message asked for one whose mask names it (caller's
    transaction); most messages did not, and cost one lookup by primary key."""
    conn = connection_of(c)
    request = conn.execute(_REQUEST, {"message_id": message.id}).first()
    if request is None or not wanted(request.mask, event):
        return 0
    url = expand(
        request.url,
        escape_values(
            event=event,
            recipient=message.recipient,
            sender=request.sender,
            text=message.text,
            modem=message.modem_id or "",
            account=request.account,
            message_id=message.id,
            message_reference=request.message_reference,
            at=now,
        ),
    )
    endpoint = f"{message.api_key_id if message.api_key_id is not None else '-'} {egress.endpoint_of(url)}"
    conn.execute(
        _INSERT,
        {"url": url, "api_key_id": message.api_key_id, "endpoint": endpoint, "next_attempt_at": now, "created_at": now},
    )
    return 1


# Built once, so SQLAlchemy compiles each once (its cache key is the statement's shape).
_DLR: sa.Table = DlrRequest.__table__  # type: ignore[attr-defined]
_PART: sa.Table = Part.__table__  # type: ignore[attr-defined]
_DELIVERY: sa.Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
_FIRST_REFERENCE = (
    sa.select(_PART.c.message_reference)
    .where(_PART.c.message_id == sa.bindparam("message_id"))
    .order_by(_PART.c.seq)
    .limit(1)
    .scalar_subquery()
)
_REQUEST = sa.select(
    _DLR.c.url, _DLR.c.mask, _DLR.c.sender, _DLR.c.account, _FIRST_REFERENCE.label("message_reference")
).where(_DLR.c.message_id == sa.bindparam("message_id"))
_INSERT = sa.insert(_DELIVERY).values(
    event=EVENT,
    payload="",
    url=sa.bindparam("url"),
    api_key_id=sa.bindparam("api_key_id"),
    endpoint=sa.bindparam("endpoint"),
    attempts=0,
    next_attempt_at=sa.bindparam("next_attempt_at"),
    created_at=sa.bindparam("created_at"),
)
