"""A campaign's recipients, one row per message, filtered by what became of it.

States (`state=`):
- `sent`: handed to the network;
- `not_sent`: never handed over, with the reason — still waiting (`send_window` with the
  time it is due, `paused`, or just `queued`), or suppressed (`opted_out`, `no_consent`,
  `frequency_cap`, `cancelled` …) or `expired`;
- `undelivered`: handed over, then failed or expired (a delivery report said so);
- `clicked` / `converted`: the recipient clicked a link / converted (test sends never count).

Each row carries the recipient's clicks, conversions and revenue. Contacts whose number is
not E.164 got no message and are not listed (the analytics count them as `invalid_number`).
Pages are keyset pages, newest message first (`gateway.core.paging`); `every` walks all
of them for the CSV export without holding the whole list.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.campaigns.lifecycle import get, variants_of
from gateway.core import paging
from gateway.core.errors import InvalidInput
from gateway.core.models import Click, Conversion, Message

__all__ = ["State", "STATES", "Recipient", "recipients_page", "every", "csv_lines", "COLUMNS"]

State = Literal["all", "sent", "not_sent", "undelivered", "clicked", "converted"]
STATES: tuple[str, ...] = ("all", "sent", "not_sent", "undelivered", "clicked", "converted")
COLUMNS = ("message_id", "contact_id", "number", "variant", "status", "reason", "due_at", "sent_at",
           "clicks", "conversions", "revenue")  # fmt: skip


@dataclass(frozen=True)
class Recipient:
    message_id: str
    contact_id: int | None
    number: str
    variant: str | None
    status: str
    reason: str | None  # why it was not sent (or not yet); None once sent
    due_at: datetime | None  # a waiting message: when it is due again
    sent_at: datetime | None
    clicks: int
    conversions: int
    revenue: float


def recipients_page(
    s: Session, campaign_id: int, *, state: str = "all", cursor: str | None, limit: int
) -> paging.Page[Recipient]:
    get(s, campaign_id)  # NotFound for an unknown campaign
    query = select(Message).where(Message.campaign_id == campaign_id, *_state(campaign_id, state))
    page = paging.query_page(s, query, Message.created_at, Message.id, cursor=cursor, limit=limit, id_type=str)
    return paging.Page(_rows(s, campaign_id, page.items), page.next_cursor)


def every(s: Session, campaign_id: int, *, state: str = "all", batch: int = 1_000) -> Iterator[Recipient]:
    cursor: str | None = None
    while True:
        page = recipients_page(s, campaign_id, state=state, cursor=cursor, limit=batch)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def csv_lines(rows: Iterator[Recipient]) -> Iterator[str]:
    """The rows as CSV text, a header first, a chunk per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        values: dict[str, Any] = asdict(row)
        writer.writerow([_cell(values[c]) for c in COLUMNS])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


def _state(campaign_id: int, state: str) -> list[Any]:
    sent = col(Message.sent_at).is_not(None)
    if state == "all":
        return []
    if state == "sent":
        return [sent]
    if state == "not_sent":
        return [col(Message.sent_at).is_(None)]
    if state == "undelivered":
        return [sent, col(Message.status).in_(("failed", "expired"))]
    if state == "clicked":
        who = sa.select(col(Click.contact_id)).where(
            col(Click.campaign_id) == campaign_id, ~col(Click.test), col(Click.contact_id).is_not(None)
        )
        return [col(Message.contact_id).in_(who)]
    if state == "converted":
        who = sa.select(col(Conversion.contact_id)).where(
            col(Conversion.campaign_id) == campaign_id, ~col(Conversion.test), col(Conversion.contact_id).is_not(None)
        )
        return [col(Message.contact_id).in_(who)]
    raise InvalidInput("state", f"one of {', '.join(STATES)}")


def _rows(s: Session, campaign_id: int, messages: list[Message]) -> list[Recipient]:
    names = {v.id: v.name for v in variants_of(s, campaign_id)}
    contacts = [m.contact_id for m in messages if m.contact_id is not None]
    clicks: dict[int, int] = {}
    conversions: dict[int, tuple[int, float]] = {}
    if contacts:
        clicks = dict(
            s.execute(
                sa.select(col(Click.contact_id), sa.func.count())
                .where(col(Click.campaign_id) == campaign_id, ~col(Click.test), col(Click.contact_id).in_(contacts))
                .group_by(col(Click.contact_id))
            ).all()
        )
        for contact, n, value in s.execute(
            sa.select(
                col(Conversion.contact_id), sa.func.count(), sa.func.coalesce(sa.func.sum(col(Conversion.value)), 0.0)
            )
            .where(
                col(Conversion.campaign_id) == campaign_id,
                ~col(Conversion.test),
                col(Conversion.contact_id).in_(contacts),
            )
            .group_by(col(Conversion.contact_id))
        ):
            conversions[contact] = (n, float(value))
    out = []
    for m in messages:
        waiting = m.status == "queued"
        reason = None
        if m.sent_at is None:
            reason = m.held_reason or ("expired" if m.status == "expired" else m.status)
        n, value = conversions.get(m.contact_id, (0, 0.0)) if m.contact_id is not None else (0, 0.0)
        out.append(
            Recipient(
                message_id=m.id, contact_id=m.contact_id, number=m.recipient, variant=names.get(m.variant_id),
                status=m.status, reason=reason,
                due_at=m.next_attempt_at if waiting and m.held_reason != "paused" else None,
                sent_at=m.sent_at, clicks=clicks.get(m.contact_id, 0) if m.contact_id is not None else 0,
                conversions=n, revenue=value,
            )
        )  # fmt: skip
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
