"""Delivery reports: every report received, matched or not."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query
from sqlmodel import col, select

from api.deps import CurrentKey, GatewayDep
from api.pagination import decode_cursor, page_of
from api.schemas import Page, ReportOut, Token
from gateway.core.db import session
from gateway.core.models import DeliveryReport, Message, Part

router = APIRouter(prefix="/v1/delivery-reports", tags=["delivery reports"])


def report_out(r: DeliveryReport, p: Part | None) -> ReportOut:
    return ReportOut(
        id=r.id,  # type: ignore[arg-type]
        message_id=p.message_id if p else None,
        part=p.seq if p else None,
        modem=r.modem_id,
        message_reference=r.message_reference,
        recipient=r.recipient,
        status=r.category,
        tp_status=r.tp_status,
        scts=r.scts,
        discharge_time=r.discharge_time,
        received_at=r.received_at,
    )


@router.get("", response_model=Page)
def list_reports(
    key: CurrentKey,
    gateway: GatewayDep,
    matched: bool | None = None,
    modem: Annotated[Token | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page:
    """Reports for this key's messages, plus unmatched ones (which belong to no key yet)."""
    query = (
        select(DeliveryReport, Part)
        .join(Part, col(Part.id) == col(DeliveryReport.part_id), isouter=True)
        .join(Message, col(Message.id) == col(Part.message_id), isouter=True)
        .where(sa.or_(col(Message.api_key_id) == key.id, col(DeliveryReport.part_id).is_(None)))
    )
    if matched is not None:
        query = query.where(col(DeliveryReport.part_id).is_not(None) if matched else col(DeliveryReport.part_id).is_(None))
    if modem:
        query = query.where(DeliveryReport.modem_id == modem)
    if cursor:
        stamp, ident = decode_cursor(cursor, int)
        query = query.where(
            sa.or_(
                col(DeliveryReport.received_at) < stamp,
                sa.and_(col(DeliveryReport.received_at) == stamp, col(DeliveryReport.id) < ident),
            )
        )
    query = query.order_by(col(DeliveryReport.received_at).desc(), col(DeliveryReport.id).desc()).limit(limit + 1)
    with session(gateway.engine) as s:
        rows = list(s.exec(query))
    rows, next_cursor = page_of(rows, limit, lambda row: (row[0].received_at, row[0].id))
    return Page(items=[report_out(r, p) for r, p in rows], next_cursor=next_cursor)
