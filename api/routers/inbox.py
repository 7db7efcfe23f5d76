"""Inbox: received messages, concatenated ones reassembled."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ApiRoute, Cursor, GatewayDep, Limit, SendKey
from api.schemas import InboundOut, Page, Token
from gateway.core import inbound
from gateway.core.db import session
from gateway.core.models import InboundMessage

router = APIRouter(route_class=ApiRoute, prefix="/v1/inbox", tags=["inbox"])


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
    key: SendKey,
    gateway: GatewayDep,
    sender: Annotated[Token | None, Query(max_length=32)] = None,
    modem: Annotated[Token | None, Query(max_length=32)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page:
    """Newest first. Incomplete concatenated messages are listed too (`complete` false)."""
    with session(gateway.engine) as s:
        page = inbound.list_inbound(s, cursor=cursor, limit=limit, sender=sender, modem=modem)
    return Page(items=[inbound_out(m) for m in page.items], next_cursor=page.next_cursor)
