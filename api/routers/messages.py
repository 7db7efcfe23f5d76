"""Messages: submit, read one with its parts, list with filters."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Header, Query, Response
from sqlmodel import Session, col, select

from api.deps import CurrentKey, GatewayDep
from api.errors import ApiError
from api.pagination import decode_cursor, page_of
from api.schemas import MessageIn, MessageOut, Page, PartOut, PhoneNumber, ReportOut
from drivers import PduError
from gateway.core import outbox
from gateway.core.db import session
from gateway.core.errors import IdempotencyConflict, InvalidInput, NotFound
from gateway.core.models import DeliveryReport, Message, Part
from gateway.core.numbers import normalise_number

router = APIRouter(prefix="/v1/messages", tags=["messages"])


def message_out(message: Message, parts: list[Part] | None = None) -> MessageOut:
    return MessageOut(
        id=message.id,
        to=message.recipient,
        text=message.text,
        status=message.status,
        category=message.category,
        encoding=message.encoding,
        modem=message.modem_id,
        parts_total=message.parts_total,
        attempts=message.attempts,
        idempotency_key=message.idempotency_key,
        last_error=message.last_error,
        created_at=message.created_at,
        updated_at=message.updated_at,
        sent_at=message.sent_at,
        valid_until=message.valid_until,
        parts=[
            PartOut(
                seq=p.seq,
                status=p.status,
                modem=p.modem_id,
                message_reference=p.message_reference,
                submitted_at=p.submitted_at,
                delivered_at=p.delivered_at,
                report_status=p.report_status,
                error=p.error,
            )
            for p in parts or []
        ],
    )


@router.post("", status_code=202, response_model=MessageOut, responses={409: {}, 413: {}, 422: {}})
def create_message(
    body: MessageIn,
    key: CurrentKey,
    gateway: GatewayDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> MessageOut:
    """Queue a message. It is stored (with its encoded parts) before this answers 202."""
    ikey = body.idempotency_key or idempotency_key
    try:
        submitted = gateway.submit(
            api_key_id=key.id,
            to=body.to,
            text=body.text,
            idempotency_key=ikey,
            category=body.category,
            modem=body.modem,
            validity=timedelta(minutes=body.validity_minutes),
            callback_url=str(body.callback_url) if body.callback_url else None,
            encoding=body.encoding,
        )
    except InvalidInput as exc:
        raise ApiError(422, "invalid_request", str(exc), fields=[{"field": exc.field, "message": str(exc)}]) from None
    except PduError as exc:
        raise ApiError(422, "invalid_message", f"text: {exc}", fields=[{"field": "text", "message": str(exc)}]) from None
    except IdempotencyConflict as exc:
        raise ApiError(409, "idempotency_conflict", str(exc), message_id=exc.message_id) from None
    if not submitted.created:
        response.headers["Idempotent-Replayed"] = "true"
    return message_out(submitted.message, submitted.parts)


@router.get("/{message_id}", response_model=MessageOut, responses={404: {}})
def get_message(message_id: str, key: CurrentKey, gateway: GatewayDep) -> MessageOut:
    with session(gateway.engine) as s:
        message = _own_message(s, message_id, key.id)
        return message_out(message, outbox.message_parts(s, message.id))


@router.get("", response_model=Page)
def list_messages(
    key: CurrentKey,
    gateway: GatewayDep,
    status: Annotated[str | None, Query(pattern="^(queued|sending|sent|delivered|failed|expired|suppressed)$")] = None,
    to: Annotated[PhoneNumber | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page:
    """Newest first. `next_cursor` fetches the next page. `to` is read like the `to` of a
    new message (national numbers in the default region)."""
    query = select(Message).where(Message.api_key_id == key.id)
    if status:
        query = query.where(Message.status == status)
    if to:
        try:
            recipient = normalise_number(to, gateway.settings.default_region, field="to")
        except InvalidInput as exc:
            raise ApiError(422, "invalid_request", str(exc), fields=[{"field": "to", "message": str(exc)}]) from None
        query = query.where(Message.recipient == recipient)
    if cursor:
        stamp, ident = decode_cursor(cursor)
        query = query.where(sa.or_(col(Message.created_at) < stamp, sa.and_(col(Message.created_at) == stamp, col(Message.id) < str(ident))))
    query = query.order_by(col(Message.created_at).desc(), col(Message.id).desc()).limit(limit + 1)
    with session(gateway.engine) as s:
        rows = list(s.exec(query))
    rows, next_cursor = page_of(rows, limit, lambda m: (m.created_at, m.id))
    return Page(items=[message_out(m) for m in rows], next_cursor=next_cursor)


@router.get("/{message_id}/delivery-reports", response_model=list[ReportOut], responses={404: {}})
def message_reports(message_id: str, key: CurrentKey, gateway: GatewayDep) -> list[ReportOut]:
    from api.routers.reports import report_out

    with session(gateway.engine) as s:
        _own_message(s, message_id, key.id)
        rows = s.exec(
            select(DeliveryReport, Part)
            .join(Part, col(Part.id) == col(DeliveryReport.part_id))
            .where(Part.message_id == message_id)
            .order_by(col(DeliveryReport.received_at))
        ).all()
        return [report_out(r, p) for r, p in rows]


def _own_message(s: Session, message_id: str, key_id: int | None) -> Message:
    """The caller's message, else 404. Ids are UUIDs: anything else is not looked up."""
    try:
        uuid.UUID(message_id)
    except ValueError:
        raise ApiError(404, "not_found", "message not found: not a message id") from None
    try:
        return outbox.get_message(s, message_id, api_key_id=key_id)
    except NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
