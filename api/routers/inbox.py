"""Inbox: received messages, concatenated ones reassembled."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query
from sqlmodel import col, select

from api.deps import CurrentKey, GatewayDep
from api.pagination import decode_cursor, page_of
from api.schemas import InboundOut, Page, Token
from gateway.core.db import session
from gateway.core.models import InboundMessage

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])


def inbound_out(m: InboundMessage) -> InboundOut:
    return InboundOut(
        id=m.id,  # type: ignore[arg-type]
        modem=m.modem_id,
        sender=m.sender,
        text=m.text,
        parts_total=m.parts_total,
        parts_received=m.parts_received,
        complete=m.complete,
        flagged=m.flagged_at is not None,
        received_at=m.received_at,
        completed_at=m.completed_at,
    )


@router.get("", response_model=Page)
def list_inbox(
    key: CurrentKey,
    gateway: GatewayDep,
    sender: Annotated[Token | None, Query(max_length=32)] = None,
    modem: Annotated[Token | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page:
    """Newest first. Incomplete concatenated messages are listed too (`complete` false)."""
    query = select(InboundMessage)
    if sender:
        query = query.where(InboundMessage.sender == sender)
    if modem:
        query = query.where(InboundMessage.modem_id == modem)
    if cursor:
        stamp, ident = decode_cursor(cursor, int)
        query = query.where(
            sa.or_(
                col(InboundMessage.received_at) < stamp,
                sa.and_(col(InboundMessage.received_at) == stamp, col(InboundMessage.id) < ident),
            )
        )
    query = query.order_by(col(InboundMessage.received_at).desc(), col(InboundMessage.id).desc()).limit(limit + 1)
    with session(gateway.engine) as s:
        rows = list(s.exec(query))
    rows, next_cursor = page_of(rows, limit, lambda m: (m.received_at, m.id))
    return Page(items=[inbound_out(m) for m in rows], next_cursor=next_cursor)
