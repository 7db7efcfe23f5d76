"""Storing delivery reports and applying them to the parts they belong to.

Every report is stored, matched or not (`part_id` None). Matching is
`gateway.core.correlation.pick_part` over the parts sent through the same modem with the same
message reference around the report's time. A report can arrive before the `+CMGS`
commit of its part (fast networks, slow disks); `rematch_in()` runs in the transaction
that commits each MR (`gateway.core.outbox.record_sent`) and attaches such early reports. A
message's status follows its parts (`settled_status`): delivered when every part of its
current generation is, failed as soon as one part finally failed.

Concurrency (PostgreSQL, READ COMMITTED): a report stored while its part's MR is being
committed could miss the part, and the MR's `rematch_in` miss the report, each not yet
seeing the other's uncommitted row. Both take a transaction-scoped lock on (modem, MR)
first (`gateway.core.db.lock_for`), so one runs after the other has committed. Likewise a
report applied while its message becomes `sent` (`gateway.core.outbox.finish`) could leave a
fully delivered message `sent`; `_apply` locks the message row before reading its parts,
and `finish` changes that row before it reads them, so the later of the two sees both.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from drivers.sms.pdu import SmsStatusReport
from gateway.core import dlr, paging, webhooks
from gateway.core.correlation import DEFAULT_WINDOW, Candidate, ReportKey, pick_part
from gateway.core.db import lock_for, transaction
from gateway.core.dlrurl import BUFFERED, DlrEvent
from gateway.core.models import DeliveryReport, Message, Part

__all__ = ["store_report", "rematch", "rematch_in", "settled_status", "list_reports", "reports_of_message"]

_FINAL_PART = ("delivered", "failed", "expired")


def store_report(engine: Engine, modem_id: str, report: SmsStatusReport, pdu: str, *, now: datetime) -> DeliveryReport:
    """Store `report` (received on `modem_id`) and apply it if it matches a part."""
    with transaction(engine) as conn, Session(bind=conn, expire_on_commit=False) as s:
        lock_for(conn, modem_id, report.message_reference)
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
        lock_for(conn, modem_id, message_reference)
        return rematch_in(s, modem_id, message_reference, now=now)


def rematch_in(s: Session, modem_id: str, message_reference: int, *, now: datetime) -> int:
    """`rematch` inside the caller's transaction, which holds `lock_for(modem, MR)`."""
    waiting = s.exec(
        select(DeliveryReport).where(
            DeliveryReport.modem_id == modem_id,
            DeliveryReport.message_reference == message_reference,
            col(DeliveryReport.part_id).is_(None),
            DeliveryReport.received_at >= now - DEFAULT_WINDOW,
        )
    ).all()
    matched = sum(1 for row in waiting if _match(s, row, now=now))
    s.flush()
    return matched


def settled_status(status: str, part_statuses: list[str]) -> str:
    """A message's status once its current parts' reports are counted.

    Only a message handed to the network (`sent`, or `delivered` already) is settled by
    its parts; a message still being sent or waiting keeps its own status.
    """
    if status not in ("sent", "delivered"):
        return status
    if any(st == "failed" for st in part_statuses):
        return "failed"
    if part_statuses and all(st == "delivered" for st in part_statuses):
        return "delivered"
    return status


def _match(s: Session, row: DeliveryReport, *, now: datetime) -> bool:
    anchor = row.scts or row.received_at
    parts = s.exec(
        select(Part).where(
            Part.modem_id == row.modem_id,
            Part.message_reference == row.message_reference,
            col(Part.submitted_at).is_not(None),
            col(Part.submitted_at) >= anchor - DEFAULT_WINDOW,
            col(Part.submitted_at) <= anchor + DEFAULT_WINDOW,
        )
    ).all()
    messages = {p.message_id for p in parts}
    recipients = (
        dict(s.exec(select(col(Message.id), col(Message.recipient)).where(col(Message.id).in_(messages))).all())
        if messages
        else {}
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
    # Locked before its parts are read: see the module docstring.
    message = s.exec(
        select(Message).where(Message.id == part.message_id).with_for_update().execution_options(populate_existing=True)
    ).first()
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
        callback_url=message.callback_url,
    )
    if row.category == "pending":  # the SMSC still tries: Kannel's "buffered" report
        dlr.on_event(s, message, DlrEvent(BUFFERED, f"stat:ENROUTE TP-ST 0x{row.tp_status:02X}"), now=now)
    statuses = list(
        s.exec(select(Part.status).where(Part.message_id == message.id, Part.generation == message.generation))
    )
    new_status = settled_status(message.status, statuses)
    if new_status != message.status:
        message.status = new_status
        message.updated_at = now
        if new_status == "failed":
            message.last_error = part.error
        s.add(message)
        webhooks.message_status(s, message, now=now)


def unmatched_count(engine: Engine) -> int:
    with transaction(engine) as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(DeliveryReport).where(col(DeliveryReport.part_id).is_(None))
        ).scalar_one()


def list_reports(
    s: Session,
    *,
    api_key_id: int | None,
    cursor: str | None,
    limit: int,
    matched: bool | None = None,
    modem: str | None = None,
) -> paging.Page[tuple[DeliveryReport, Part | None]]:
    """Reports on the messages of `api_key_id`, and unmatched ones (which belong to no key
    yet), each with its part; newest first, one page from `cursor`."""
    query = (
        select(DeliveryReport, Part)
        .join(Part, col(Part.id) == col(DeliveryReport.part_id), isouter=True)
        .join(Message, col(Message.id) == col(Part.message_id), isouter=True)
        .where(sa.or_(col(Message.api_key_id) == api_key_id, col(DeliveryReport.part_id).is_(None)))
    )
    if matched is not None:
        part_id = col(DeliveryReport.part_id)
        query = query.where(part_id.is_not(None) if matched else part_id.is_(None))
    if modem:
        query = query.where(col(DeliveryReport.modem_id) == modem)
    return paging.query_page(
        s, query, DeliveryReport.received_at, DeliveryReport.id, cursor=cursor, limit=limit,
        position=lambda row: (row[0].received_at, row[0].id),
    )  # fmt: skip


def reports_of_message(s: Session, message_id: str) -> list[tuple[DeliveryReport, Part]]:
    """Every report matched to a part of the message, oldest first."""
    query = (
        select(DeliveryReport, Part)
        .join(Part, col(Part.id) == col(DeliveryReport.part_id))
        .where(col(Part.message_id) == message_id)
        .order_by(col(DeliveryReport.received_at))
    )
    return list(s.exec(query).all())
