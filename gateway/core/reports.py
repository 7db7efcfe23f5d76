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
Reports stored together (`store_reports`, a batch from several modems) take all their
(modem, MR) locks before they lock any row, in sorted order: a batch holding a message row
while waiting for the lock of a part of that message being committed would deadlock with
that commit, which holds the part's lock and waits for the row. Writers that take several
of these locks must do the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from drivers.sms.pdu import SmsStatusReport
from gateway.core import dlr, paging, webhooks
from gateway.core.correlation import DEFAULT_WINDOW, Candidate, ReportKey, pick_part
from gateway.core.db import connection_of, lock_for, transaction
from gateway.core.dlrurl import BUFFERED, DlrEvent
from gateway.core.models import DeliveryReport, Message, Part

__all__ = [
    "StoredReport",
    "StatusSubject",
    "settle_in",
    "store_report",
    "store_reports",
    "rematch",
    "rematch_in",
    "settled_status",
    "list_reports",
    "reports_of_message",
]

_FINAL_PART = ("delivered", "failed", "expired")
_SETTLED_BY_PARTS = ("sent", "delivered")  # the message statuses its parts' reports change


@dataclass(frozen=True)
class StoredReport:
    """A stored delivery report: its row id, and the part it was matched to (None: unmatched)."""

    id: int
    part_id: int | None


def store_report(engine: Engine, modem_id: str, report: SmsStatusReport, pdu: str, *, now: datetime) -> StoredReport:
    """Store `report` (received on `modem_id`) and apply it if it matches a part."""
    return store_reports(engine, [(modem_id, report, pdu)], now=now)[0]


def store_reports(
    engine: Engine, items: Sequence[tuple[str, SmsStatusReport, str]], *, now: datetime
) -> list[StoredReport]:
    """Store several reports, each `(modem id, report, pdu)`, in one transaction and in
    order, each applied as `store_report` does; their results in the same order."""
    with transaction(engine) as conn:
        # Every (modem, MR) lock first, in one order: see the module docstring.
        for modem_id, number in sorted({(modem_id, report.message_reference) for modem_id, report, _ in items}):
            lock_for(conn, modem_id, number)
        return [_store(conn, modem_id, report, pdu, now=now) for modem_id, report, pdu in items]


def rematch(engine: Engine, modem_id: str, message_reference: int, *, now: datetime) -> int:
    """Attach reports for (modem, MR) that arrived before their part's MR was committed."""
    with transaction(engine) as conn:
        lock_for(conn, modem_id, message_reference)
        return rematch_in(conn, modem_id, message_reference, now=now)


def rematch_in(c: Connection | Session, modem_id: str, message_reference: int, *, now: datetime) -> int:
    """`rematch` inside the caller's transaction, which holds `lock_for(modem, MR)`."""
    conn = connection_of(c)
    waiting = conn.execute(
        _WAITING, {"modem_id": modem_id, "mr": message_reference, "since": now - DEFAULT_WINDOW}
    ).all()
    matched = 0
    for row in waiting:
        report = _Report(
            row.modem_id, row.message_reference, row.recipient, row.tp_status, row.category,
            row.scts, row.discharge_time, row.received_at,
        )  # fmt: skip
        part = _match(conn, report)
        if part is not None:
            conn.execute(_ATTACH, {"report_id": row.id, "part_id": part.part_id})
            _apply(conn, part, report, now=now)
            matched += 1
    return matched


def settled_status(status: str, part_statuses: list[str]) -> str:
    """A message's status once its current parts' reports are counted.

    Only a message handed to the network (`sent`, or `delivered` already) is settled by
    its parts; a message still being sent or waiting keeps its own status.
    """
    if status not in _SETTLED_BY_PARTS:
        return status
    if any(st == "failed" for st in part_statuses):
        return "failed"
    if part_statuses and all(st == "delivered" for st in part_statuses):
        return "delivered"
    return status


@dataclass(frozen=True)
class _Report:
    modem_id: str
    message_reference: int
    recipient: str
    tp_status: int
    category: str
    scts: datetime | None
    discharge_time: datetime | None
    received_at: datetime


@dataclass(frozen=True)
class _Candidate(Candidate):
    message_id: str = ""
    seq: int = 0


@dataclass(frozen=True)
class StatusSubject:
    """A message as its status events read it (`webhooks.message_status`, `dlr`), with the
    generation whose parts settle it."""

    id: str
    status: str
    generation: int
    recipient: str
    text: str
    modem_id: str | None
    sent_at: datetime | None
    last_error: str | None
    api_key_id: int | None
    callback_url: str | None


def _store(conn: Connection, modem_id: str, sms: SmsStatusReport, pdu: str, *, now: datetime) -> StoredReport:
    report = _Report(
        modem_id, sms.message_reference, sms.number, sms.status, sms.category, sms.timestamp, sms.discharge_time, now
    )
    # Matched before it is inserted, so the row is written once, with its part.
    part = _match(conn, report)
    report_id = conn.execute(
        _INSERT_REPORT,
        {
            "modem_id": modem_id,
            "message_reference": report.message_reference,
            "recipient": report.recipient,
            "tp_status": report.tp_status,
            "category": report.category,
            "scts": report.scts,
            "discharge_time": report.discharge_time,
            "received_at": now,
            "pdu": pdu,
            "part_id": None if part is None else part.part_id,
        },
    ).scalar_one()
    if part is not None:
        _apply(conn, part, report, now=now)
    return StoredReport(report_id, None if part is None else int(part.part_id))


def _match(conn: Connection, report: _Report) -> _Candidate | None:
    anchor = report.scts or report.received_at
    rows = conn.execute(
        _CANDIDATES,
        {
            "modem_id": report.modem_id,
            "mr": report.message_reference,
            "earliest": anchor - DEFAULT_WINDOW,
            "latest": anchor + DEFAULT_WINDOW,
        },
    )
    candidates = [
        _Candidate(
            part_id=r.id,
            modem_id=r.modem_id,
            message_reference=r.message_reference,
            recipient=r.recipient,
            submitted_at=r.submitted_at,
            has_final_report=r.status in _FINAL_PART,
            message_id=r.message_id,
            seq=r.seq,
        )
        for r in rows
    ]
    key = ReportKey(report.modem_id, report.message_reference, report.recipient, report.scts, report.received_at)
    return pick_part(key, candidates)


def _apply(conn: Connection, part: _Candidate, report: _Report, *, now: datetime) -> None:
    if report.category == "delivered":
        conn.execute(
            _PART_DELIVERED,
            {"part_id": part.part_id, "tp_status": report.tp_status, "at": report.discharge_time or now},
        )
    elif report.category == "failed":
        error = f"status report: TP-ST 0x{report.tp_status:02X}"
        conn.execute(_PART_FAILED, {"part_id": part.part_id, "tp_status": report.tp_status, "error": error})
    else:
        conn.execute(_PART_REPORTED, {"part_id": part.part_id, "tp_status": report.tp_status})
    # Locked before its parts are read: see the module docstring.
    row = conn.execute(_LOCK_MESSAGE, {"message_id": part.message_id}).first()
    if row is None:
        return
    message = StatusSubject(**row._mapping)
    webhooks.enqueue(
        conn,
        "delivery_report",
        {
            "message_id": message.id,
            "part": part.seq,
            "modem": report.modem_id,
            "message_reference": report.message_reference,
            "status": report.category,
            "tp_status": report.tp_status,
            "discharge_time": report.discharge_time.isoformat() if report.discharge_time else None,
        },
        now=now,
        api_key_id=message.api_key_id,
        callback_url=message.callback_url,
    )
    if report.category == "pending":  # the SMSC still tries: Kannel's "buffered" report
        dlr.on_event(conn, message, DlrEvent(BUFFERED, f"stat:ENROUTE TP-ST 0x{report.tp_status:02X}"), now=now)
    if message.status not in _SETTLED_BY_PARTS:
        return  # still being sent, or ended otherwise: its parts do not settle it
    settled = settle_in(conn, message, now=now)
    if settled != message:
        webhooks.message_status(conn, settled, now=now)


def settle_in(conn: Connection, message: StatusSubject, *, now: datetime) -> StatusSubject:
    """The message as its current parts' reports leave it (`settled_status`), its row
    changed in the caller's transaction when its status changes; failed with the error of
    the part that failed. The caller holds the message's row (locked or just updated)."""
    parts = conn.execute(_CURRENT_PARTS, {"message_id": message.id, "generation": message.generation}).all()
    new_status = settled_status(message.status, [p.status for p in parts])
    if new_status == message.status:
        return message
    last_error = next(p.error for p in parts if p.status == "failed") if new_status == "failed" else message.last_error
    conn.execute(
        _SETTLE_MESSAGE, {"message_id": message.id, "status": new_status, "last_error": last_error, "now": now}
    )
    return replace(message, status=new_status, last_error=last_error)


# The statements of the hot path, built once so that SQLAlchemy compiles each once.
_REPORT: sa.Table = DeliveryReport.__table__  # type: ignore[attr-defined]
_PART: sa.Table = Part.__table__  # type: ignore[attr-defined]
_MESSAGE: sa.Table = Message.__table__  # type: ignore[attr-defined]

_INSERT_REPORT = sa.insert(_REPORT).returning(_REPORT.c.id)
# The parts that could own a report, each with its message's recipient.
_CANDIDATES = (
    sa.select(
        _PART.c.id,
        _PART.c.message_id,
        _PART.c.seq,
        _PART.c.status,
        _PART.c.modem_id,
        _PART.c.message_reference,
        _PART.c.submitted_at,
        _MESSAGE.c.recipient,
    )
    .join(_MESSAGE, _MESSAGE.c.id == _PART.c.message_id)
    .where(
        _PART.c.modem_id == sa.bindparam("modem_id"),
        _PART.c.message_reference == sa.bindparam("mr"),
        _PART.c.submitted_at.is_not(None),
        _PART.c.submitted_at >= sa.bindparam("earliest"),
        _PART.c.submitted_at <= sa.bindparam("latest"),
    )
    .order_by(_PART.c.id)
)
_WAITING = (
    sa.select(
        _REPORT.c.id,
        _REPORT.c.modem_id,
        _REPORT.c.message_reference,
        _REPORT.c.recipient,
        _REPORT.c.tp_status,
        _REPORT.c.category,
        _REPORT.c.scts,
        _REPORT.c.discharge_time,
        _REPORT.c.received_at,
    )
    .where(
        _REPORT.c.modem_id == sa.bindparam("modem_id"),
        _REPORT.c.message_reference == sa.bindparam("mr"),
        _REPORT.c.part_id.is_(None),
        _REPORT.c.received_at >= sa.bindparam("since"),
    )
    .order_by(_REPORT.c.id)
)
_ATTACH = sa.update(_REPORT).where(_REPORT.c.id == sa.bindparam("report_id")).values(part_id=sa.bindparam("part_id"))
_PART_BY_ID = _PART.c.id == sa.bindparam("part_id")
_PART_REPORTED = sa.update(_PART).where(_PART_BY_ID).values(report_status=sa.bindparam("tp_status"))
_PART_DELIVERED = (
    sa.update(_PART)
    .where(_PART_BY_ID)
    .values(report_status=sa.bindparam("tp_status"), status="delivered", delivered_at=sa.bindparam("at"))
)
_PART_FAILED = (
    sa.update(_PART)
    .where(_PART_BY_ID)
    .values(report_status=sa.bindparam("tp_status"), status="failed", error=sa.bindparam("error"))
)
_LOCK_MESSAGE = (
    sa.select(*(_MESSAGE.c[field.name] for field in fields(StatusSubject)))
    .where(_MESSAGE.c.id == sa.bindparam("message_id"))
    .with_for_update()
)
_CURRENT_PARTS = sa.select(_PART.c.status, _PART.c.error).where(
    _PART.c.message_id == sa.bindparam("message_id"), _PART.c.generation == sa.bindparam("generation")
)
_SETTLE_MESSAGE = (
    sa.update(_MESSAGE)
    .where(_MESSAGE.c.id == sa.bindparam("message_id"))
    .values(status=sa.bindparam("status"), last_error=sa.bindparam("last_error"), updated_at=sa.bindparam("now"))
)


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
        s,
        query,
        DeliveryReport.received_at,
        DeliveryReport.id,
        cursor=cursor,
        limit=limit,
        position=lambda row: (row[0].received_at, row[0].id),
    )


def reports_of_message(s: Session, message_id: str) -> list[tuple[DeliveryReport, Part]]:
    """Every report matched to a part of the message, oldest first."""
    query = (
        select(DeliveryReport, Part)
        .join(Part, col(Part.id) == col(DeliveryReport.part_id))
        .where(col(Part.message_id) == message_id)
        .order_by(col(DeliveryReport.received_at))
    )
    return list(s.exec(query).all())
