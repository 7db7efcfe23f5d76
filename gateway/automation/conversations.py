"""Conversations: the inbox grouped by number, what was sent and received in order, unread counts.

A conversation is every complete inbound message from a number and every message sent to
it (any source: API, campaigns, sequences, automatic answers). "Unread" counts the
inbound messages after the last one marked read (`mark_read`, which reading a
conversation through the API does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.core.models import ConversationRead, InboundMessage, Message

__all__ = ["Summary", "summaries", "thread", "mark_read"]


@dataclass(frozen=True)
class Summary:
    number: str
    last_at: datetime
    last_text: str
    last_direction: str  # in | out
    unread: int


def summaries(s: Session, *, limit: int = 50, unread_only: bool = False) -> list[Summary]:
    """Numbers with inbound messages, most recent activity first, with unread counts."""
    inbound = _inbound()
    last_in = (
        sa.select(inbound.c.sender.label("number"), sa.func.max(inbound.c.received_at).label("at"))
        .group_by(inbound.c.sender)
        .subquery()
    )
    read = sa.select(col(ConversationRead.number), col(ConversationRead.read_through)).subquery()
    unread = (
        sa.select(sa.func.count())
        .select_from(inbound)
        .where(inbound.c.sender == last_in.c.number, inbound.c.id > sa.func.coalesce(read.c.read_through, 0))
        .correlate(last_in, read)
        .scalar_subquery()
    )
    rows = s.execute(
        sa.select(last_in.c.number, last_in.c.at, unread.label("unread"))
        .select_from(last_in.outerjoin(read, read.c.number == last_in.c.number))
        .order_by(last_in.c.at.desc())
    ).all()
    out: list[Summary] = []
    for number, at, count in rows:
        if unread_only and not count:
            continue
        latest = thread(s, number, limit=1)
        item = latest[-1] if latest else {"at": at, "text": "", "direction": "in"}
        out.append(Summary(number, item["at"], item["text"], item["direction"], count))
        if len(out) >= limit:
            break
    return sorted(out, key=lambda x: x.last_at, reverse=True)


def thread(s: Session, number: str, *, limit: int = 200) -> list[dict[str, Any]]:
    """The last `limit` messages with `number`, oldest first: direction, text, time, status."""
    received = s.exec(
        select(InboundMessage)
        .where(InboundMessage.sender == number, InboundMessage.complete == True)  # noqa: E712
        .order_by(col(InboundMessage.received_at).desc(), col(InboundMessage.id).desc())
        .limit(limit)
    ).all()
    sent = s.exec(
        select(Message)
        .where(Message.recipient == number)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .limit(limit)
    ).all()
    items = [
        {"direction": "in", "id": str(m.id), "text": m.text, "at": m.received_at, "modem": m.modem_id,
         "status": "received"}
        for m in received
    ] + [
        {"direction": "out", "id": m.id, "text": m.text, "at": m.created_at, "modem": m.modem_id, "status": m.status}
        for m in sent
    ]  # fmt: skip
    items.sort(key=lambda x: (x["at"], x["direction"] == "out"))
    return items[-limit:]


def mark_read(s: Session, number: str, *, now: datetime) -> int:
    """Everything received from `number` so far is read; the unread count before."""
    latest = s.execute(
        sa.select(sa.func.max(col(InboundMessage.id))).where(col(InboundMessage.sender) == number)
    ).scalar()
    row = s.get(ConversationRead, number)
    before = row.read_through if row is not None else 0
    unread = s.execute(
        sa.select(sa.func.count()).where(col(InboundMessage.sender) == number, col(InboundMessage.id) > before)
    ).scalar_one()
    if row is None:
        row = ConversationRead(number=number, read_through=latest or 0, read_at=now)
    else:
        row.read_through, row.read_at = max(before, latest or 0), now
    s.add(row)
    s.flush()
    return int(unread)


def _inbound() -> Any:
    table = InboundMessage.__table__  # type: ignore[attr-defined]
    return sa.select(table).where(table.c.complete == sa.true()).subquery()
