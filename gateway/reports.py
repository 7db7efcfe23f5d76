"""Storing delivery reports and applying them to the parts they belong to.

Every report is stored, matched or not (`part_id` None). Matching is
`gateway.correlation.pick_part` over the parts sent through the same modem with the same
message reference around the report's time. A report can arrive before the `+CMGS`
commit of its part (fast networks, slow disks); `rematch()` runs after each commit and
attaches such early reports. A message's status follows its parts: delivered when every
part of its current generation is, failed as soon as one part finally failed.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from drivers.sms.pdu import SmsStatusReport
from gateway import webhooks
from gateway.correlation import DEFAULT_WINDOW, Candidate, ReportKey, pick_part
from gateway.db import transaction
from gateway.models import DeliveryReport, Message, Part

__all__ = ["store_report", "rematch", "message_view_status", "refresh_message", "announce_status"]

_FINAL_PART = ("delivered", "failed", "expired")


def store_report(engine: Engine, modem_id: str, report: SmsStatusReport, pdu: str, *, now: datetime) -> DeliveryReport:
    """Store `report` (received on `modem_id`) and apply it if it matches a part."""
    with transaction(engine) as conn, Session(bind=conn, expire_on_commit=False) as s:
        row = DeliveryReport(
            modem_id=modem_id,
            message_reference=report.message_reference,
            recipient=report.number,
            tp_status=report.status,
            category=report.category,
            scts=report.timestamp,
            discharge_time=report.discharge_time,
            received_at=now,
            pdu=pdu,
        )
        s.add(row)
        s.flush()
        _match(s, row, now=now)
        s.flush()
        return row


def rematch(engine: Engine, modem_id: str, message_reference: int, *, now: datetime) -> int:
    """Attach reports for (modem, MR) that arrived before their part's MR was committed."""
    with transaction(engine) as conn, Session(bind=conn, expire_on_commit=False) as s:
        waiting = s.exec(
            select(DeliveryReport).where(
                DeliveryReport.modem_id == modem_id,
                DeliveryReport.message_reference == message_reference,
                DeliveryReport.part_id.is_(None),
                DeliveryReport.received_at >= now - DEFAULT_WINDOW,
            )
        ).all()
        matched = sum(1 for row in waiting if _match(s, row, now=now))
        s.flush()
        return matched


def _match(s: Session, row: DeliveryReport, *, now: datetime) -> bool:
    anchor = row.scts or row.received_at
    parts = s.exec(
        select(Part).where(
            Part.modem_id == row.modem_id,
            Part.message_reference == row.message_reference,
            Part.submitted_at.is_not(None),
            Part.submitted_at >= anchor - DEFAULT_WINDOW,
            Part.submitted_at <= anchor + DEFAULT_WINDOW,
        )
    ).all()
    messages = {p.message_id for p in parts}
    recipients = (
        dict(s.exec(select(Message.id, Message.recipient).where(Message.id.in_(messages))).all()) if messages else {}
    )
    candidates = [
        Candidate(
            part_id=p.id,  # type: ignore[arg-type]
            modem_id=p.modem_id or "",
            message_reference=p.message_reference or 0,
            recipient=recipients.get(p.message_id, ""),
            submitted_at=p.submitted_at,  # type: ignore[arg-type]
            has_final_report=p.status in _FINAL_PART,
        )
        for p in parts
    ]
    key = ReportKey(row.modem_id, row.message_reference, row.recipient, row.scts, row.received_at)
    chosen = pick_part(key, candidates)
    if chosen is None:
        return False
    part = next(p for p in parts if p.id == chosen.part_id)
    row.part_id = part.id
    s.add(row)
    _apply(s, part, row, now=now)
    return True


def _apply(s: Session, part: Part, row: DeliveryReport, *, now: datetime) -> None:
    part.report_status = row.tp_status
    if row.category == "delivered":
        part.status = "delivered"
        part.delivered_at = row.discharge_time or now
    elif row.category == "failed":
        part.status = "failed"
        part.error = f"status report: TP-ST 0x{row.tp_status:02X}"
    s.add(part)
    s.flush()
    message = s.get(Message, part.message_id)
    if message is None:
        return
    webhooks.enqueue(
        s,
        "delivery_report",
        {
            "message_id": message.id,
            "part": part.seq,
            "modem": row.modem_id,
            "message_reference": row.message_reference,
            "status": row.category,
            "tp_status": row.tp_status,
            "discharge_time": row.discharge_time.isoformat() if row.discharge_time else None,
        },
        now=now,
        api_key_id=message.api_key_id,
    )
    new_status = message_view_status(s, message)
    if new_status != message.status:
        message.status = new_status
        message.updated_at = now
        if new_status == "failed":
            message.last_error = part.error
        s.add(message)
        _announce(s, message, now=now)


def refresh_message(engine: Engine, message_id: str, *, now: datetime) -> str:
    """Announce a message that just became `sent`, and apply reports that came first."""
    with transaction(engine) as conn, Session(bind=conn, expire_on_commit=False) as s:
        message = s.get(Message, message_id)
        if message is None:
            return ""
        status = message_view_status(s, message)
        if status != message.status:
            message.status = status
            message.updated_at = now
            s.add(message)
        _announce(s, message, now=now)
        s.flush()
        return message.status


def announce_status(engine: Engine, message_id: str, *, now: datetime) -> None:
    """Queue a `message.status` event for the message's current status."""
    with transaction(engine) as conn, Session(bind=conn, expire_on_commit=False) as s:
        message = s.get(Message, message_id)
        if message is not None:
            _announce(s, message, now=now)
            s.flush()


def _announce(s: Session, message: Message, *, now: datetime) -> None:
    webhooks.enqueue(
        s,
        "message.status",
        {"id": message.id, "status": message.status, "recipient": message.recipient, "error": message.last_error},
        now=now,
        api_key_id=message.api_key_id,
    )


def message_view_status(s: Session, message: Message) -> str:
    """A sent message's status from its current parts' reports."""
    if message.status not in ("sent", "delivered"):
        return message.status
    statuses = s.exec(
        select(Part.status).where(Part.message_id == message.id, Part.generation == message.generation)
    ).all()
    if any(st == "failed" for st in statuses):
        return "failed"
    if statuses and all(st == "delivered" for st in statuses):
        return "delivered"
    return message.status


def unmatched_count(engine: Engine) -> int:
    with transaction(engine) as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(DeliveryReport).where(DeliveryReport.part_id.is_(None))
        ).scalar_one()
