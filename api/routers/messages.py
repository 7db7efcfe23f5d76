"""Messages: submit, read one with its parts, list with filters."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from api.deps import ApiRoute, Cursor, GatewayDep, Limit, SendKey
from api.schemas import (
    AttemptOut,
    HoldOut,
    IdempotencyKey,
    MessageIn,
    MessageOut,
    Page,
    PartOut,
    PhoneNumber,
    ReportOut,
)
from gateway.core import messages, outbox, reports
from gateway.core.db import session
from gateway.core.errors import InvalidInput
from gateway.core.models import Message, MessageAttempt, Part
from gateway.core.numbers import normalise_number

router = APIRouter(route_class=ApiRoute, prefix="/v1/messages", tags=["messages"])


_DONE = ("sent", "delivered")  # no error to show any more: earlier ones are in the history


def _held(message: Message) -> HoldOut | None:
    """What the claim policy recorded on a message it held (gateway.core.claimpolicy): a
    deferral waits until `next_attempt_at`; a pause has no set end; a suppression is final."""
    if message.held_reason is None or message.status not in ("queued", "suppressed"):
        return None
    waiting = message.status == "queued" and message.held_reason != "paused"
    return HoldOut(reason=message.held_reason, until=message.next_attempt_at if waiting else None)


def message_out(
    message: Message, parts: list[Part] | None = None, attempts: list[MessageAttempt] | None = None
) -> MessageOut:
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
        last_error=None if message.status in _DONE else message.last_error,
        held=_held(message),
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
        attempt_history=[
            AttemptOut.model_validate(
                {"attempt": a.attempt, "modem": a.modem_id, "at": a.at, "outcome": a.outcome, "error": a.error}
            )
            for a in attempts or []
        ],
    )


@router.post("", status_code=202, response_model=MessageOut, responses={409: {}, 413: {}, 422: {}})
def create_message(
    body: MessageIn,
    key: SendKey,
    gateway: GatewayDep,
    response: Response,
    idempotency_key: Annotated[IdempotencyKey | None, Header()] = None,
) -> MessageOut:
    """Queue a message. It is stored (with its encoded parts) before this answers 202.
    The idempotency key is the `Idempotency-Key` header or the `idempotency_key` field, by
    one rule; given in both, they must be the same (else 422)."""
    if body.idempotency_key is not None and idempotency_key is not None and body.idempotency_key != idempotency_key:
        raise InvalidInput("idempotency_key", "differs from the Idempotency-Key header; give one, or the same in both")
    submitted = gateway.submit(
        api_key_id=key.id,
        to=body.to,
        text=body.text,
        idempotency_key=body.idempotency_key or idempotency_key,
        category=body.category,
        modem=body.modem,
        validity=timedelta(minutes=body.validity_minutes),
        callback_url=str(body.callback_url) if body.callback_url else None,
        encoding=body.encoding,
    )
    if not submitted.created:
        response.headers["Idempotent-Replayed"] = "true"
    return message_out(submitted.message, submitted.parts)


@router.get("/{message_id}", response_model=MessageOut, responses={404: {}})
def get_message(message_id: str, key: SendKey, gateway: GatewayDep) -> MessageOut:
    with session(gateway.engine) as s:
        message = messages.own_message(s, message_id, key.id)
        return message_out(message, outbox.message_parts(s, message.id), outbox.message_attempts(s, message.id))


@router.get("", response_model=Page)
def list_messages(
    key: SendKey,
    gateway: GatewayDep,
    status: Annotated[str | None, Query(pattern="^(queued|sending|sent|delivered|failed|expired|suppressed)$")] = None,
    to: Annotated[PhoneNumber | None, Query(max_length=32)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page:
    """Newest first. `next_cursor` fetches the next page. `to` is read like the `to` of a
    new message (national numbers in the default region)."""
    recipient = normalise_number(to, gateway.settings.default_region, field="to") if to else None
    with session(gateway.engine) as s:
        page = messages.list_messages(
            s, api_key_id=key.id, cursor=cursor, limit=limit, status=status, recipient=recipient
        )
    return Page(items=[message_out(m) for m in page.items], next_cursor=page.next_cursor)


@router.get("/{message_id}/delivery-reports", response_model=list[ReportOut], responses={404: {}})
def message_reports(message_id: str, key: SendKey, gateway: GatewayDep) -> list[ReportOut]:
    with session(gateway.engine) as s:
        messages.own_message(s, message_id, key.id)
        return [ReportOut.of(r, p) for r, p in reports.reports_of_message(s, message_id)]
