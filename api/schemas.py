"""Request and response bodies of the HTTP API (the OpenAPI schema is generated from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, HttpUrl

__all__ = [
    "MessageIn",
    "PartOut",
    "MessageOut",
    "Page",
    "ReportOut",
    "InboundOut",
    "ModemOut",
    "ModemPatch",
    "WebhookIn",
    "WebhookOut",
    "DeliveryOut",
    "SimInbound",
]


class MessageIn(BaseModel):
    to: str = Field(min_length=3, max_length=32, description="Recipient: +E.164, or national in the default region.")
    text: str = Field(max_length=39_015, description="Message text; split into up to 255 parts.")
    modem: str | None = Field(default=None, max_length=32, description="Send through this modem only.")
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)
    callback_url: HttpUrl | None = None
    category: Literal["transactional", "marketing"] = "transactional"
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


class MessageOut(BaseModel):
    id: str
    to: str
    text: str
    status: str
    category: str
    encoding: str
    modem: str | None
    parts_total: int
    attempts: int
    idempotency_key: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    valid_until: datetime
    parts: list[PartOut] = []


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
    counters: dict[str, int]
    pacing: dict[str, float | int | bool]
    last_error: str | None


class ModemPatch(BaseModel):
    enabled: bool | None = None
    drain: bool | None = None
    sends_per_minute: float | None = Field(default=None, gt=0, le=600)
    burst: int | None = Field(default=None, ge=1, le=100)
    daily_cap: int | None = Field(default=None, ge=0, le=1_000_000)


class WebhookIn(BaseModel):
    url: HttpUrl
    events: list[Literal["message.status", "message.inbound", "delivery_report", "optout"]] = Field(min_length=1)
    secret: str | None = Field(default=None, min_length=16, max_length=128)


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
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    gave_up_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime


class SimInbound(BaseModel):
    modem: str
    sender: str = Field(alias="from", min_length=1, max_length=20)
    text: str = Field(max_length=10_000)
    encoding: Literal["auto", "gsm7", "ucs2"] = "auto"

    model_config = {"populate_by_name": True}
