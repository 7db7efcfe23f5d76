"""Received messages: every part stored as received, concatenated ones reassembled.

Parts of one concatenated message share (modem, sender, reference, total). They can
arrive in any order, hours apart, or never; a message is `complete` when all its parts
are in, and `flag_incomplete()` marks the ones still missing parts after a timeout so
they show up (with the text that did arrive) instead of waiting forever. A part that
arrives twice (a network resend) is stored but counted once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from drivers.sms.pdu import SmsDeliver
from gateway.core import paging, webhooks
from gateway.core.db import transaction
from gateway.core.models import InboundMessage, InboundPart

__all__ = ["store_inbound", "flag_incomplete", "REASSEMBLY_TIMEOUT", "store_undecodable", "storable", "list_inbound"]

REASSEMBLY_TIMEOUT = timedelta(hours=24)
_GROUP_WINDOW = timedelta(hours=72)  # a reference is reused by the sender eventually


def storable(text: str) -> str:
    """Text as every database can hold it: U+0000 (legal in a UCS-2 SMS, refused by
    PostgreSQL text) becomes U+FFFD. The raw PDU is stored beside it, unchanged."""
    return text.replace("\x00", "\ufffd")


def store_inbound(
    engine: Engine,
    modem_id: str,
    sms: SmsDeliver,
    pdu: str,
    *,
    now: datetime,
    on_complete: Callable[[Session, InboundMessage], None] | None = None,
) -> InboundMessage:
    """Store one received part; returns its (possibly now complete) message.

    `on_complete` runs in the same transaction when the message is whole (a STOP acted
    on commits with the message that said it, or not at all).
    """
    sms = replace(sms, text=storable(sms.text), number=storable(sms.number))
    with transaction(engine) as conn, Session(bind=conn, expire_on_commit=False) as s:
        concat = sms.concat
        part = InboundPart(
            modem_id=modem_id,
            sender=sms.number,
            text=sms.text,
            encoding=sms.encoding,
            concat_ref=concat.ref if concat else None,
            concat_total=concat.total if concat else None,
            concat_seq=concat.seq if concat else None,
            scts=sms.timestamp,
            received_at=now,
            pdu=pdu,
        )
        message: InboundMessage | None
        if concat is None:
            message = InboundMessage(
                modem_id=modem_id,
                sender=sms.number,
                text=sms.text,
                parts_total=1,
                parts_received=1,
                complete=True,
                scts=sms.timestamp,
                received_at=now,
                completed_at=now,
            )
            s.add(message)
            s.flush()
            part.inbound_message_id = message.id
            s.add(part)
            _announce(s, message, now=now)
            s.flush()
            if on_complete is not None:
                on_complete(s, message)
            return message
        message = s.exec(
            select(InboundMessage).where(
                InboundMessage.modem_id == modem_id,
                InboundMessage.sender == sms.number,
                InboundMessage.concat_ref == concat.ref,
                InboundMessage.parts_total == concat.total,
                InboundMessage.complete == False,  # noqa: E712
                InboundMessage.received_at >= now - _GROUP_WINDOW,
            )
        ).first()
        if message is None:
            message = InboundMessage(
                modem_id=modem_id,
                sender=sms.number,
                concat_ref=concat.ref,
                parts_total=concat.total,
                parts_received=0,
                scts=sms.timestamp,
                received_at=now,
            )
            s.add(message)
            s.flush()
        part.inbound_message_id = message.id
        s.add(part)
        s.flush()
        completed = _refresh(s, message, now=now)
        s.flush()
        if completed and on_complete is not None:
            on_complete(s, message)
        return message


def store_undecodable(engine: Engine, modem_id: str, pdu: str, error: str, *, now: datetime) -> InboundMessage:
    """Keep a PDU we could not decode, visible in the inbox with the reason."""
    with transaction(engine) as conn, Session(bind=conn, expire_on_commit=False) as s:
        message = InboundMessage(
            modem_id=modem_id,
            sender="",
            text=f"[undecodable PDU: {error}] {pdu}",
            parts_total=1,
            parts_received=1,
            complete=True,
            received_at=now,
            completed_at=now,
            flagged_at=now,
        )
        s.add(message)
        s.flush()
        s.add(
            InboundPart(
                inbound_message_id=message.id,
                modem_id=modem_id,
                sender="",
                text="",
                encoding="8bit",
                received_at=now,
                pdu=pdu,
            )
        )
        s.flush()
        return message


def flag_incomplete(engine: Engine, *, now: datetime, timeout: timedelta = REASSEMBLY_TIMEOUT) -> int:
    """Mark messages still missing parts after `timeout`; returns how many were flagged."""
    with transaction(engine) as conn, Session(bind=conn, expire_on_commit=False) as s:
        stale = s.exec(
            select(InboundMessage).where(
                InboundMessage.complete == False,  # noqa: E712
                col(InboundMessage.flagged_at).is_(None),
                InboundMessage.received_at <= now - timeout,
            )
        ).all()
        for message in stale:
            message.flagged_at = now
            s.add(message)
            _announce(s, message, now=now)
        s.flush()
        return len(stale)


def _refresh(s: Session, message: InboundMessage, *, now: datetime) -> bool:
    """Recount the message's parts; True when this part completed it."""
    parts = s.exec(select(InboundPart).where(InboundPart.inbound_message_id == message.id)).all()
    by_seq: dict[int, InboundPart] = {}
    for p in parts:
        by_seq.setdefault(p.concat_seq or 1, p)  # a resent part counts once
    message.parts_received = len(by_seq)
    # Missing parts show as a gap marker, so a flagged message reads honestly.
    message.text = "".join(by_seq[i].text if i in by_seq else "[…]" for i in range(1, message.parts_total + 1))
    completed = len(by_seq) >= message.parts_total and not message.complete
    if completed:
        message.complete = True
        message.completed_at = now
        _announce(s, message, now=now)
    s.add(message)
    return completed


def _announce(s: Session, message: InboundMessage, *, now: datetime) -> None:
    webhooks.enqueue(
        s,
        "message.inbound",
        {
            "id": message.id,
            "modem": message.modem_id,
            "sender": message.sender,
            "text": message.text,
            "parts": message.parts_total,
            "complete": message.complete,
            "received_at": message.received_at.isoformat(),
        },
        now=now,
    )


def inbox_count(engine: Engine) -> int:
    with transaction(engine) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(InboundMessage)).scalar_one()


def list_inbound(
    s: Session, *, cursor: str | None, limit: int, sender: str | None = None, modem: str | None = None
) -> paging.Page[InboundMessage]:
    """Received messages, newest first, incomplete ones too; one page from `cursor`."""
    query = select(InboundMessage)
    if sender:
        query = query.where(InboundMessage.sender == sender)
    if modem:
        query = query.where(InboundMessage.modem_id == modem)
    return paging.query_page(s, query, InboundMessage.received_at, InboundMessage.id, cursor=cursor, limit=limit)
