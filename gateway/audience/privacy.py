"""Everything stored about a person: their timeline, an export of it all, and erasure.

The timeline is not stored: it is read from the messages sent to the contact's number,
their delivery reports, messages received from it, the consent ledger and the
suppression list, newest first, a page at a time.

`erase` forgets a contact (GDPR art. 17): the contact, its list memberships, its consent
ledger, the messages to and from its number that are finished, and their delivery
reports. What stays is the sha256 of the number on the suppression list — the reason it
had, or `erased` — so nothing is sent to it again, not even after a re-import; the person
can be sent to again only if they text START or the entry is removed on purpose.
Messages still queued or in flight are left to finish (the suppression stops the queued
ones when they are claimed) and counted in the result: erase again once they are done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.audience.consent import consent_history, number_hash, suppression_for
from gateway.audience.contacts import get_contact, list_ids_of
from gateway.core import paging
from gateway.core.db import rowcount
from gateway.core.errors import InvalidInput
from gateway.core.models import (
    AutoReplySent,
    Click,
    ConsentRecord,
    Contact,
    ContactEvent,
    ContactList,
    ConversationRead,
    Conversion,
    DeliveryReport,
    Enrollment,
    InboundMessage,
    InboundPart,
    KeywordConfirmation,
    Message,
    Part,
    StepSend,
    Suppression,
    SurveyAnswer,
    SurveyQuestion,
    SurveySession,
)

__all__ = ["TimelineEvent", "Erasure", "EVENT_TYPES", "timeline", "timeline_page", "export", "erase", "FINISHED"]

# Timeline event types, in the order they sort within one instant (descending).
EVENT_TYPES = (
    "click", "contact", "conversion", "delivery_report", "inbound", "message", "opt_in", "opt_out", "suppressed",
    "survey_answer",
)  # fmt: skip
FINISHED = ("delivered", "failed", "expired", "suppressed")  # message statuses nothing changes any more


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    type: str  # one of EVENT_TYPES
    id: str  # the row's id, unique within its type
    data: dict[str, Any]

    @property
    def key(self) -> str:
        """The event's place in the timeline after its time: `type:id`."""
        return f"{self.type}:{self.id}"


@dataclass(frozen=True)
class Erasure:
    contact_id: int
    number_hash: str
    suppression_reason: str
    consent_records: int
    messages: int
    delivery_reports: int
    inbound_messages: int
    messages_in_flight: int  # left alone; erase again once they are finished


def timeline(
    s: Session, contact_id: int, *, limit: int, after: tuple[datetime, str] | None = None
) -> list[TimelineEvent]:
    """Up to `limit` events of a contact, newest first, after the (at, key) of `after`.

    NotFound if there is no such contact.
    """
    contact = get_contact(s, contact_id)
    number = contact.number
    cursor = _cursor(after)
    events: list[TimelineEvent] = []

    def page(query: Any, at: Any, ident: Any, kind: str, typed: type) -> list[Any]:
        return list(
            s.exec(query.where(_before(at, ident, kind, cursor, typed)).order_by(at.desc(), ident.desc()).limit(limit))
        )

    if contact.created_at is not None:
        c = page(select(Contact).where(Contact.id == contact.id), Contact.created_at, Contact.id, "contact", int)
        events += [TimelineEvent(x.created_at, "contact", str(x.id), {"number": x.number}) for x in c]
    for m in page(select(Message).where(Message.recipient == number), Message.created_at, Message.id, "message", str):
        events.append(TimelineEvent(m.created_at, "message", m.id, _message(m)))
    reports = page(
        select(DeliveryReport, Part)
        .join(Part, col(Part.id) == col(DeliveryReport.part_id))
        .join(Message, col(Message.id) == col(Part.message_id))
        .where(Message.recipient == number),
        DeliveryReport.received_at,
        DeliveryReport.id,
        "delivery_report",
        int,
    )
    for r, p in reports:
        events.append(
            TimelineEvent(
                r.received_at,
                "delivery_report",
                str(r.id),
                {"message_id": p.message_id, "part": p.seq, "status": r.category, "tp_status": r.tp_status},
            )
        )
    inbound = page(
        select(InboundMessage).where(InboundMessage.sender == number),
        InboundMessage.received_at,
        InboundMessage.id,
        "inbound",
        int,
    )
    events += [
        TimelineEvent(i.received_at, "inbound", str(i.id), {"text": i.text, "modem": i.modem_id}) for i in inbound
    ]
    for kind in ("opt_in", "opt_out"):
        records = page(
            select(ConsentRecord).where(ConsentRecord.number == number, ConsentRecord.kind == kind),
            ConsentRecord.recorded_at,
            ConsentRecord.id,
            kind,
            int,
        )
        events += [
            TimelineEvent(r.recorded_at, kind, str(r.id), {"source": r.source, "proof": r.proof, "ip": r.ip})
            for r in records
        ]
    suppressed = page(
        select(Suppression).where(Suppression.number_hash == number_hash(number)),
        Suppression.created_at,
        Suppression.id,
        "suppressed",
        int,
    )
    events += [TimelineEvent(x.created_at, "suppressed", str(x.id), {"reason": x.reason}) for x in suppressed]
    clicks = page(select(Click).where(Click.contact_id == contact.id), Click.clicked_at, Click.id, "click", int)
    events += [
        TimelineEvent(
            c.clicked_at, "click", str(c.id),
            {"campaign_id": c.campaign_id, "message_id": c.message_id, "click_id": c.click_id, "test": c.test},
        )
        for c in clicks
    ]  # fmt: skip
    conversions = page(
        select(Conversion).where(Conversion.contact_id == contact.id),
        Conversion.occurred_at,
        Conversion.id,
        "conversion",
        int,
    )
    events += [
        TimelineEvent(
            c.occurred_at, "conversion", str(c.id),
            {"campaign_id": c.campaign_id, "order_id": c.order_id, "value": c.value, "currency": c.currency,
             "click_id": c.click_id, "test": c.test},
        )
        for c in conversions
    ]  # fmt: skip
    answers = page(
        select(SurveyAnswer, SurveyQuestion)
        .join(SurveyQuestion, col(SurveyQuestion.id) == col(SurveyAnswer.question_id))
        .where(SurveyAnswer.number == number),
        SurveyAnswer.answered_at,
        SurveyAnswer.id,
        "survey_answer",
        int,
    )
    events += [
        TimelineEvent(a.answered_at, "survey_answer", str(a.id),
                      {"survey_id": a.survey_id, "question": q.position, "choice": a.choice, "text": a.text})
        for a, q in answers
    ]  # fmt: skip
    events.sort(key=_order, reverse=True)
    return events[:limit]


def timeline_page(s: Session, contact_id: int, *, cursor: str | None, limit: int) -> paging.Page[TimelineEvent]:
    """The contact's timeline, newest first, one page from `cursor`; NotFound if no such contact."""

    def fetch(n: int, start: paging.Position | None) -> list[TimelineEvent]:
        return timeline(s, contact_id, limit=n, after=start)

    return paging.fetch_page(cursor, limit, fetch, lambda e: (e.at, e.key), id_type=str)


def export(s: Session, contact_id: int) -> dict[str, Any]:
    """Everything stored about a contact, as one JSON-ready object. NotFound if none."""
    contact = get_contact(s, contact_id)
    number = contact.number
    list_ids = list_ids_of(s, contact_id)
    lists = (
        s.exec(select(ContactList).where(col(ContactList.id).in_(list_ids)).order_by(col(ContactList.id))).all()
        if list_ids
        else []
    )
    suppression = suppression_for(s, number)
    messages = s.exec(
        select(Message).where(col(Message.recipient) == number).order_by(col(Message.created_at), col(Message.id))
    ).all()
    message_ids = [m.id for m in messages]
    parts = (
        s.exec(
            select(Part)
            .where(col(Part.message_id).in_(message_ids))
            .order_by(col(Part.message_id), col(Part.generation), col(Part.seq))
        ).all()
        if message_ids
        else []
    )
    reports = _reports_of(s, number, message_ids)
    inbound = s.exec(
        select(InboundMessage).where(col(InboundMessage.sender) == number).order_by(col(InboundMessage.received_at))
    ).all()
    parts_of: dict[str, list[dict[str, Any]]] = {}
    for p in parts:
        parts_of.setdefault(p.message_id, []).append(
            {
                "seq": p.seq,
                "generation": p.generation,
                "status": p.status,
                "modem": p.modem_id,
                "submitted_at": _iso(p.submitted_at),
                "delivered_at": _iso(p.delivered_at),
            }
        )
    return {
        "contact": {
            "id": contact.id,
            "number": contact.number,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "fields": contact.custom_fields,
            "time_zone": contact.time_zone,
            "time_zone_source": contact.time_zone_source,
            "created_at": _iso(contact.created_at),
            "updated_at": _iso(contact.updated_at),
        },
        "lists": [{"id": x.id, "name": x.name, "kind": x.kind} for x in lists],
        "consent": [
            {"kind": r.kind, "source": r.source, "proof": r.proof, "ip": r.ip, "recorded_at": _iso(r.recorded_at)}
            for r in consent_history(s, number)
        ],
        "opt_out": (
            {"reason": suppression.reason, "created_at": _iso(suppression.created_at)}
            if suppression is not None
            else None
        ),
        "messages": [{**_message(m), "parts": parts_of.get(m.id, [])} for m in messages],
        "delivery_reports": [
            {
                "id": r.id,
                "message_id": message_id,
                "status": r.category,
                "tp_status": r.tp_status,
                "received_at": _iso(r.received_at),
            }
            for r, message_id in reports
        ],
        "inbound_messages": [
            {"id": i.id, "text": i.text, "modem": i.modem_id, "received_at": _iso(i.received_at)} for i in inbound
        ],
    }


def erase(s: Session, contact_id: int, *, now: datetime) -> Erasure:
    """Forget a contact, keeping its number's hash on the suppression list (flushed, not
    committed). NotFound if there is no such contact."""
    contact = get_contact(s, contact_id)
    number = contact.number
    digest = number_hash(number)
    entry = suppression_for(s, number)
    if entry is None:
        entry = Suppression(number=None, number_hash=digest, reason="erased", created_at=now)
    entry.number = None
    s.add(entry)
    consent = rowcount(
        s.execute(
            sa.delete(ConsentRecord).where(
                sa.or_(col(ConsentRecord.number) == number, col(ConsentRecord.contact_id) == contact_id)
            )
        )
    )
    finished = list(
        s.exec(select(col(Message.id)).where(col(Message.recipient) == number, col(Message.status).in_(FINISHED)))
    )
    in_flight = s.exec(
        select(sa.func.count())
        .select_from(Message)
        .where(col(Message.recipient) == number, col(Message.status).not_in(FINISHED))
    ).one()
    reports = 0
    if finished:
        part_ids = sa.select(col(Part.id)).where(col(Part.message_id).in_(finished))
        reports += rowcount(s.execute(sa.delete(DeliveryReport).where(col(DeliveryReport.part_id).in_(part_ids))))
        s.execute(sa.delete(Part).where(col(Part.message_id).in_(finished)))
        s.execute(sa.delete(Message).where(col(Message.id).in_(finished)))
    # Reports that never matched a part still name the number.
    reports += rowcount(
        s.execute(
            sa.delete(DeliveryReport).where(
                col(DeliveryReport.recipient) == number, col(DeliveryReport.part_id).is_(None)
            )
        )
    )
    inbound_ids = sa.select(col(InboundMessage.id)).where(col(InboundMessage.sender) == number)
    s.execute(
        sa.delete(InboundPart).where(
            sa.or_(col(InboundPart.sender) == number, col(InboundPart.inbound_message_id).in_(inbound_ids))
        )
    )
    inbound = rowcount(s.execute(sa.delete(InboundMessage).where(col(InboundMessage.sender) == number)))
    _erase_automation(s, number)
    s.delete(contact)  # list memberships go with it
    s.flush()
    return Erasure(
        contact_id=contact_id,
        number_hash=digest,
        suppression_reason=entry.reason,
        consent_records=consent,
        messages=len(finished),
        delivery_reports=reports,
        inbound_messages=inbound,
        messages_in_flight=in_flight,
    )


# --- helpers ------------------------------------------------------------------------------


def _erase_automation(s: Session, number: str) -> None:
    """What two-way automation keeps by number: sequences gone through, survey answers,
    events, pending confirmations, auto-replies counted, the conversation's read mark."""
    enrollments = sa.select(col(Enrollment.id)).where(col(Enrollment.number) == number)
    s.execute(sa.delete(StepSend).where(col(StepSend.enrollment_id).in_(enrollments)))
    s.execute(sa.delete(Enrollment).where(col(Enrollment.number) == number))
    s.execute(sa.delete(SurveyAnswer).where(col(SurveyAnswer.number) == number))
    s.execute(sa.delete(SurveySession).where(col(SurveySession.number) == number))
    s.execute(sa.delete(ContactEvent).where(col(ContactEvent.number) == number))
    s.execute(sa.delete(KeywordConfirmation).where(col(KeywordConfirmation.number) == number))
    s.execute(sa.delete(AutoReplySent).where(col(AutoReplySent.number) == number))
    s.execute(sa.delete(ConversationRead).where(col(ConversationRead.number) == number))


def _cursor(after: tuple[datetime, str] | None) -> tuple[datetime, str, str] | None:
    if after is None:
        return None
    stamp, key = after
    kind, _, ident = key.partition(":")
    if kind not in EVENT_TYPES or not ident:
        raise InvalidInput("cursor", f"not a timeline position: {key!r}")
    return stamp, kind, ident


def _before(at: Any, ident: Any, kind: str, cursor: tuple[datetime, str, str] | None, typed: type) -> Any:
    """Rows of type `kind` that sort after the cursor in (at, type, id) descending order."""
    if cursor is None:
        return sa.true()
    stamp, ckind, cident = cursor
    if kind < ckind:
        return at <= stamp
    if kind > ckind:
        return at < stamp
    try:
        value = typed(cident)
    except ValueError:
        raise InvalidInput("cursor", f"not a timeline position: {kind}:{cident!r}") from None
    return sa.or_(at < stamp, sa.and_(at == stamp, ident < value))


def _order(event: TimelineEvent) -> tuple[datetime, str, Any]:
    return event.at, event.type, int(event.id) if event.id.isdigit() else event.id


def _message(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "text": m.text,
        "status": m.status,
        "category": m.category,
        "parts_total": m.parts_total,
        "modem": m.modem_id,
        "created_at": _iso(m.created_at),
        "sent_at": _iso(m.sent_at),
    }


def _reports_of(s: Session, number: str, message_ids: list[str]) -> list[tuple[DeliveryReport, str | None]]:
    matched: list[tuple[DeliveryReport, str | None]] = []
    if message_ids:
        rows = s.exec(
            select(DeliveryReport, Part.message_id)
            .join(Part, col(Part.id) == col(DeliveryReport.part_id))
            .where(col(Part.message_id).in_(message_ids))
            .order_by(col(DeliveryReport.received_at), col(DeliveryReport.id))
        ).all()
        matched = [(r, mid) for r, mid in rows]
    unmatched = s.exec(
        select(DeliveryReport).where(col(DeliveryReport.recipient) == number, col(DeliveryReport.part_id).is_(None))
    ).all()
    return matched + [(r, None) for r in unmatched]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
