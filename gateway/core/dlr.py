"""Kannel-style delivery reports: a message sent with a `dlr-url` has that URL fetched (GET,
escape codes filled in) for each event its `dlr-mask` names.

The fetch is queued as a webhook delivery (event `kannel.dlr`, the URL already filled in)
in the transaction that changes the message, so it is as durable as the change, retried
like a webhook, and posted by the courier only to addresses the egress policy allows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlmodel import Session, col, select

from gateway.core import egress
from gateway.core.dlrurl import SUBMITTED, DlrEvent, escape_values, event_for_status, expand, wanted
from gateway.core.models import DlrRequest, Part, WebhookDelivery

__all__ = ["EVENT", "MessageLike", "on_status", "on_event", "on_submitted"]

EVENT = "kannel.dlr"  # the webhook delivery's event: fetched with GET, no body


class MessageLike(Protocol):
    """What a status event reads of a message (a `Message` row, or a test's stand-in)."""

    id: str
    status: str
    recipient: str
    text: str
    modem_id: str | None
    sent_at: datetime | None
    last_error: str | None
    api_key_id: int | None


def on_status(s: Session, message: MessageLike, *, now: datetime) -> int:
    """Queue the fetch the message's new status stands for, if its mask asks (caller's
    transaction). Returns how many were queued (0 or 1)."""
    event = event_for_status(message.status, sent_before=message.sent_at is not None, error=message.last_error)
    return 0 if event is None else on_event(s, message, event, now=now)


def on_submitted(s: Session, message: MessageLike, *, now: datetime) -> int:
    """Queue the "accepted by the SMSC" fetch for a message whose reports came in before its
    last part's +CMGS was committed: it ends `delivered` or `failed` at once, yet the SMSC
    did take it first, and a Kannel client counts on hearing so."""
    return on_event(s, message, DlrEvent(SUBMITTED, "ACK/"), now=now)


def on_event(s: Session, message: MessageLike, event: DlrEvent, *, now: datetime) -> int:
    request = s.get(DlrRequest, message.id)
    if request is None or not wanted(request.mask, event):
        return 0
    reference = s.exec(
        select(Part.message_reference).where(Part.message_id == message.id).order_by(col(Part.seq)).limit(1)
    ).first()
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
            message_reference=reference,
            at=now,
        ),
    )
    endpoint = f"{message.api_key_id if message.api_key_id is not None else '-'} {egress.endpoint_of(url)}"
    s.add(
        WebhookDelivery(
            event=EVENT,
            payload="",
            url=url,
            api_key_id=message.api_key_id,
            endpoint=endpoint,
            next_attempt_at=now,
            created_at=now,
        )
    )
    s.flush()
    return 1
