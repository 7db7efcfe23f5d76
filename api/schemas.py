"""Request and response bodies of the HTTP API (the OpenAPI schema is generated from these)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, HttpUrl

if TYPE_CHECKING:
    from gateway.core.models import DeliveryReport, Part

__all__ = [
    "MessageIn",
    "PartOut",
    "AttemptOut",
    "MessageOut",
    "HoldOut",
    "Page",
    "ReportOut",
    "InboundOut",
    "ModemOut",
    "ModemPatch",
    "WebhookIn",
    "WebhookOut",
    "DeliveryOut",
    "SimInbound",
    "PhoneNumber",
    "SmsText",
    "MessageText",
    "Token",
    "IdempotencyKey",
]

# --- field types --------------------------------------------------------------------------
# What goes into the database or onto the radio is checked here, so a control character
# or a stray NUL (which PostgreSQL text cannot hold) is a 422 naming the field, never a
# 500 further down.

_NUMBER = re.compile(r"\+?[0-9 ()./-]+")
# Line feed, carriage return (GSM 03.38 has both), form feed (the GSM-7 page break,
# 3GPP TS 23.038 §6.2.1.1) and tab are text; every other C0/C1 control and DEL is not.
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _phone_number(value: str) -> str:
    if not _NUMBER.fullmatch(value):
        raise ValueError("a phone number is digits, optionally a leading +, and spaces or ( ) - . / between them")
    return value


def _sms_text(value: str) -> str:
    if m := _TEXT_CONTROLS.search(value):
        raise ValueError(f"control character U+{ord(m.group()):04X} at position {m.start()}")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("an SMS needs text: empty or only whitespace is refused")
    return value


def _token(value: str) -> str:
    if not value.isprintable():
        bad = next(ch for ch in value if not ch.isprintable())
        raise ValueError(f"character U+{ord(bad):04X} is not printable")
    return value


_IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,128}")


def _idempotency_key(value: str) -> str:
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        bad = next((ch for ch in value if not "!" <= ch <= "~"), None)
        if bad is None:
            raise ValueError("1 to 128 characters")
        raise ValueError(f"character U+{ord(bad):04X} is not a visible ASCII character")
    return value


PhoneNumber = Annotated[str, AfterValidator(_phone_number)]
"""A number as a person writes it: +E.164 or national, with common separators."""
SmsText = Annotated[str, AfterValidator(_sms_text)]
"""Message text: any characters but control characters other than tab and line breaks."""
MessageText = Annotated[SmsText, AfterValidator(_not_blank)]
"""An SMS to send: `SmsText` with something in it (not empty, not only whitespace)."""
Token = Annotated[str, AfterValidator(_token)]
"""A name, key or id: printable characters only."""
IdempotencyKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        description="1 to 128 visible ASCII characters (`!` to `~`: no spaces, controls or other "
        "characters), the same in the `idempotency_key` field and the `Idempotency-Key` header.",
    ),
    AfterValidator(_idempotency_key),
]
"""The one rule for an idempotency key, in the body and in the header: what a header carries
unchanged, so the same key reads the same both ways."""

# --- bodies -------------------------------------------------------------------------------

_TARGETS = (
    "http or https, without credentials (user:password@), to a public address: loopback, private, "
    "link-local, metadata and other non-public targets are refused (422) unless the operator allows "
    "them ([webhooks] allow_networks, allow_hosts)."
)


class MessageIn(BaseModel):
    to: PhoneNumber = Field(
        min_length=3, max_length=32, description="Recipient: +E.164, or national in the default region."
    )
    text: MessageText = Field(
        min_length=1,
        max_length=39_015,
        json_schema_extra={"pattern": r"\S"},  # enforced by MessageText, with a clearer message
        description="Message text; split into up to 255 parts. Not empty, not only whitespace.",
    )
    modem: Token | None = Field(default=None, max_length=32, description="Send through this modem only.")
    idempotency_key: IdempotencyKey | None = Field(
        default=None, description="As the `Idempotency-Key` header; give one, or the same in both."
    )
    callback_url: HttpUrl | None = Field(
        default=None, description="Where this message's own events are posted. " + _TARGETS
    )
    category: Literal["transactional", "marketing"] = Field(
        default="transactional",
        description=(
            "What the message is, which sets its place in the queue. `transactional` (one-time codes, "
            "order updates, alerts the recipient asked for) leaves before every `marketing` message already "
            "queued, campaigns included; only the answers to STOP, START and HELP go before it. `marketing` "
            "(promotions, newsletters) waits while transactional messages are due, and is also held to "
            "consent, the recipient's send window and frequency caps. Within a category, messages "
            "leave in the order they were queued."
        ),
    )
    encoding: Literal["auto", "gsm7", "ucs2"] = "auto"
    validity_minutes: int = Field(default=2880, ge=5, le=63 * 7 * 24 * 60)


class PartOut(BaseModel):
    seq: int
    status: str
    modem: str | None
    message_reference: int | None
    submitted_at: datetime | None
    delivered_at: datetime | None
    report_status: int | None
    error: str | None


class AttemptOut(BaseModel):
    attempt: int
    modem: str | None
    at: datetime
    outcome: Literal["sent", "retry", "failed", "expired", "interrupted"]
    error: str | None


class HoldOut(BaseModel):
    reason: str = Field(description="send_window, paused, opted_out, no_consent, frequency_cap, cancelled …")
    until: datetime | None = Field(description="When a waiting message is due again; null when it is not waiting.")


class MessageOut(BaseModel):
    id: str
    to: str
    text: str
    status: str
    category: str
    encoding: str
    modem: str | None
    parts_total: int
    attempts: int = Field(description="Attempts at sending it so far.")
    idempotency_key: str | None
    last_error: str | None = Field(
        description="Why it is not sent yet, or why it failed; null once it is sent or delivered "
        "(earlier errors stay in `attempt_history`)."
    )
    held: HoldOut | None = Field(
        default=None,
        description="Why a queued message waits and until when (e.g. the send window), or why "
        "one was suppressed (opted out, frequency cap, cancelled); null when nothing holds it.",
    )
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    valid_until: datetime
    parts: list[PartOut] = []
    attempt_history: list[AttemptOut] = Field(
        default=[], description="How each attempt ended, oldest first (in GET /v1/messages/{id})."
    )


class Page(BaseModel):
    items: list
    next_cursor: str | None


class ReportOut(BaseModel):
    id: int
    message_id: str | None
    part: int | None
    modem: str
    message_reference: int
    recipient: str
    status: str
    tp_status: int
    scts: datetime | None
    discharge_time: datetime | None
    received_at: datetime

    @classmethod
    def of(cls, r: DeliveryReport, p: Part | None) -> ReportOut:
        """A stored report, with the part it was matched to (None while unmatched)."""
        return cls(
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


class InboundOut(BaseModel):
    id: int
    modem: str
    sender: str
    text: str
    parts_total: int
    parts_received: int
    complete: bool
    flagged: bool
    received_at: datetime
    completed_at: datetime | None


class ModemOut(BaseModel):
    id: str
    state: str
    enabled: bool
    simulated: bool
    identity: dict[str, str | None]
    signal: dict[str, int | None]
    registration: str | None
    operator: str | None = Field(
        default=None, description="The network operator (AT+COPS?) while registered, as the modem names it."
    )
    status_reports: bool | None = Field(
        description="Whether the modem hands delivery reports over (AT+CNMI <ds> 1 or 2); null until it is up. "
        "When false, sent messages stay `sent` and never become `delivered`."
    )
    counters: dict[str, int]
    pacing: dict[str, float | int | bool | None]
    last_error: str | None
    port: str | None = Field(
        default=None, description="The port in use (a modem known by its IMEI: where it was found)."
    )
    recovery: RecoveryOut | None = None


class RecoveryOut(BaseModel):
    """Recovery without a person (hardware.md): reopen, soft reset, the operator's command."""

    state: Literal["idle", "reopening", "soft_reset", "operator_command", "recovered"]
    attempts: int = Field(description="Failed reopens in a row.")
    last_step: Literal["reopen", "soft_reset", "operator_command"] | None
    last_result: str | None
    last_step_at: datetime | None
    steps: dict[str, int] = Field(description="Steps taken since start, by step.")


class ModemPatch(BaseModel):
    enabled: bool | None = None
    drain: bool | None = None
    sends_per_minute: float | None = Field(default=None, gt=0, le=600)
    burst: int | None = Field(default=None, ge=1, le=100)
    daily_cap: int | None = Field(default=None, ge=0, le=1_000_000)


EventType = Literal[
    "message.status", "message.inbound", "delivery_report", "optout", "optin",
    "keyword.matched", "survey.answered", "sequence.step_sent", "sequence.exited",
]  # fmt: skip


class WebhookIn(BaseModel):
    url: HttpUrl = Field(description="Where events are posted. " + _TARGETS)
    events: list[EventType] = Field(min_length=1)
    secret: Token | None = Field(default=None, min_length=16, max_length=128)


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime
    secret: str | None = Field(default=None, description="Shown only when the webhook is created.")


class DeliveryOut(BaseModel):
    id: int
    event: str
    url: str | None = None  # set for a message's callback; a webhook's deliveries go to its url
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    gave_up_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime


class CallbackSecretOut(BaseModel):
    secret: str


class SimInbound(BaseModel):
    modem: Token
    sender: Token = Field(alias="from", min_length=1, max_length=20)
    text: SmsText = Field(max_length=10_000)
    encoding: Literal["auto", "gsm7", "ucs2"] = "auto"

    model_config = {"populate_by_name": True}
