"""What the operator console reads in bulk: every message with filters, today's counts per
modem, the queue, and conversations by number.

Each function is a fixed number of queries whatever the page size (the console's pages must
not grow a query per row), and counts use the indexed columns only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.core import paging
from gateway.core.models import ConversationRead, InboundMessage, Message

__all__ = [
    "MessageFilter",
    "browse_messages",
    "DayCounts",
    "day_counts",
    "queue_depth",
    "Thread",
    "threads",
    "unread_total",
]


@dataclass(frozen=True)
class MessageFilter:
    status: str | None = None
    modem: str | None = None
    campaign_id: int | None = None
    recipient: str | None = None  # E.164
    since: datetime | None = None
    until: datetime | None = None


def browse_messages(s: Session, f: MessageFilter, *, cursor: str | None, limit: int) -> paging.Page[Message]:
    """Every sender's messages, newest first, one page from `cursor`."""
    query = select(Message)
    if f.status:
        query = query.where(Message.status == f.status)
    if f.modem:
        query = query.where(Message.modem_id == f.modem)
    if f.campaign_id is not None:
        query = query.where(Message.campaign_id == f.campaign_id)
    if f.recipient:
        query = query.where(Message.recipient == f.recipient)
    if f.since is not None:
        query = query.where(col(Message.created_at) >= f.since)
    if f.until is not None:
        query = query.where(col(Message.created_at) < f.until)
    return paging.query_page(s, query, Message.created_at, Message.id, cursor=cursor, limit=limit, id_type=str)


@dataclass(frozen=True)
class DayCounts:
    sent: int = 0
    failed: int = 0


def day_counts(s: Session, *, since: datetime) -> dict[str, DayCounts]:
    """Messages sent (by `sent_at`) and failed (by `updated_at`) since `since`, per modem."""
    sent = dict(
        s.execute(
            sa.select(col(Message.modem_id), sa.func.count())
            .where(col(Message.sent_at) >= since, col(Message.modem_id).is_not(None))
            .group_by(col(Message.modem_id))
        ).all()
    )
    failed = dict(
        s.execute(
            sa.select(col(Message.modem_id), sa.func.count())
            .where(col(Message.status) == "failed", col(Message.updated_at) >= since)
            .group_by(col(Message.modem_id))
        ).all()
    )
    return {m: DayCounts(int(sent.get(m, 0)), int(failed.get(m, 0))) for m in set(sent) | set(failed) if m}


def queue_depth(s: Session) -> int:
    """Messages waiting for a modem or being sent."""
    return int(
        s.execute(
            sa.select(sa.func.count()).select_from(Message).where(col(Message.status).in_(("queued", "sending")))
        ).scalar_one()
    )


@dataclass(frozen=True)
class Thread:
    number: str
    last_at: datetime
    last_text: str
    received: int
    unread: int


def threads(s: Session, *, limit: int = 100) -> list[Thread]:
    """Conversations: one per number that wrote in, the latest first, with unread counts."""
    read = sa.select(col(ConversationRead.number), col(ConversationRead.read_through)).subquery()
    latest: Any = (
        sa.select(
            col(InboundMessage.sender).label("number"),
            sa.func.max(col(InboundMessage.received_at)).label("last_at"),
            sa.func.count().label("received"),
            sa.func.sum(sa.case((col(InboundMessage.id) > sa.func.coalesce(read.c.read_through, 0), 1), else_=0)).label(
                "unread"
            ),
        )
        .select_from(InboundMessage)
        .outerjoin(read, read.c.number == col(InboundMessage.sender))
        .group_by(col(InboundMessage.sender))
        .order_by(sa.desc("last_at"))
        .limit(limit)
    )
    rows = s.execute(latest).all()
    texts: dict[str, str] = {}
    if rows:
        numbers = [r.number for r in rows]
        for sender, text in s.execute(
            sa.select(col(InboundMessage.sender), col(InboundMessage.text))
            .where(col(InboundMessage.sender).in_(numbers))
            .order_by(col(InboundMessage.received_at))
        ):
            texts[sender] = text  # the newest wins
    return [Thread(r.number, r.last_at, texts.get(r.number, ""), int(r.received), int(r.unread or 0)) for r in rows]


def unread_total(s: Session, *, window: timedelta = timedelta(days=30), now: datetime) -> int:
    """Replies in the last `window` not yet read."""
    read = sa.select(col(ConversationRead.number), col(ConversationRead.read_through)).subquery()
    return int(
        s.execute(
            sa.select(sa.func.count())
            .select_from(InboundMessage)
            .outerjoin(read, read.c.number == col(InboundMessage.sender))
            .where(
                col(InboundMessage.received_at) >= now - window,
                col(InboundMessage.id) > sa.func.coalesce(read.c.read_through, 0),
            )
        ).scalar_one()
    )
