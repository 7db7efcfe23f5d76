"""Delivery reports: every report received, matched or not."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ApiRoute, Cursor, GatewayDep, Limit, SendKey
from api.schemas import Page, ReportOut, Token
from gateway.core import reports
from gateway.core.db import session

router = APIRouter(route_class=ApiRoute, prefix="/v1/delivery-reports", tags=["delivery reports"])


@router.get("", response_model=Page)
def list_reports(
    key: SendKey,
    gateway: GatewayDep,
    matched: bool | None = None,
    modem: Annotated[Token | None, Query(max_length=32)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page:
    """Reports for this key's messages, plus unmatched ones (which belong to no key yet)."""
    with session(gateway.engine) as s:
        page = reports.list_reports(s, api_key_id=key.id, cursor=cursor, limit=limit, matched=matched, modem=modem)
    return Page(items=[ReportOut.of(r, p) for r, p in page.items], next_cursor=page.next_cursor)
