"""Request and response bodies of the audience API: contacts, lists, segments, consent, opt-outs."""

from __future__ import annotations

from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from api.schemas import PhoneNumber, SmsText, Token

__all__ = [
    "FieldValue",
    "ContactIn",
    "ContactPatch",
    "ContactOut",
    "ConsentProofIn",
    "ContactImportIn",
    "RowErrorOut",
    "ContactImportOut",
    "ConsentIn",
    "ConsentOut",
    "TimelineEventOut",
    "ErasureOut",
    "ListIn",
    "ListOut",
    "MembersIn",
    "MembersOut",
    "SegmentIn",
    "SegmentPatch",
    "SegmentOut",
    "OptOutIn",
    "OptOutRemovalIn",
    "OptOutOut",
    "OptOutImportIn",
    "OptOutImportOut",
]

FieldValue = str | int | float | bool
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]  # ids are PostgreSQL `integer`
Name = Token  # printable text; length limits are given where used

_FIELDS_DOC = "Custom fields: names are letters, digits and _ (not first), values text, numbers or true/false."


class ContactIn(BaseModel):
    number: PhoneNumber = Field(min_length=3, max_length=32, description="+E.164, or national in the default region.")
    first_name: Name | None = Field(default=None, max_length=100)
    last_name: Name | None = Field(default=None, max_length=100)
    time_zone: Token | None = Field(
        default=None, max_length=64, description="IANA zone; when absent, the number's own zone or the account default."
    )
    fields: dict[str, FieldValue] = Field(default_factory=dict, max_length=50, description=_FIELDS_DOC)
    lists: list[RowId] = Field(default_factory=list, max_length=100, description="Ids of lists to put the contact on.")
    locale: Token | None = Field(
        default=None,
        max_length=35,
        description="BCP 47 language tag (tr, pt-BR): the language of keyword replies and the opt-out footer.",
    )


class ContactPatch(BaseModel):
    """Only the keys given change. In `fields`, null removes a field; `time_zone` null derives it again."""

    number: PhoneNumber | None = Field(default=None, min_length=3, max_length=32)
    first_name: Name | None = Field(default=None, max_length=100)
    last_name: Name | None = Field(default=None, max_length=100)
    time_zone: Token | None = Field(default=None, max_length=64)
    fields: dict[str, FieldValue | None] | None = Field(default=None, max_length=50)
    locale: Token | None = Field(default=None, max_length=35, description="BCP 47; null: none.")


class ContactOut(BaseModel):
    id: int
    number: str
    first_name: str | None
    last_name: str | None
    fields: dict[str, Any]
    time_zone: str
    time_zone_source: Literal["given", "number", "default"]
    locale: str | None
    number_type: str = Field(
        description="Line type from the numbering plan: mobile, fixed_line_or_mobile, fixed_line, premium_rate, "
        "toll_free, shared_cost, voip, … or unknown. Campaigns skip all but mobile and fixed_line_or_mobile."
    )
    lists: list[int]
    consent: Literal["opt_in", "opt_out"] | None = Field(description="The latest entry of the consent ledger.")
    opted_out: bool = Field(description="On the suppression list: nothing is sent to this number.")
    created_at: datetime
    updated_at: datetime


class ConsentProofIn(BaseModel):
    source: Token = Field(min_length=1, max_length=64, description="Where the consent was given, e.g. web_form.")
    proof: SmsText | None = Field(default=None, max_length=2000, description="The words the people agreed to.")
    ip: IPv4Address | IPv6Address | None = None


class ContactImportIn(BaseModel):
    contacts: list[dict[str, Any]] = Field(
        max_length=50_000,
        description="One object per contact: number, first_name, last_name, time_zone, custom fields (flat or in `fields`).",
    )
    lists: list[RowId] = Field(default_factory=list, max_length=100)
    opt_in: ConsentProofIn | None = Field(default=None, description="Record an opt-in for every imported contact.")


class RowErrorOut(BaseModel):
    row: int = Field(description="1-based data row (the CSV header is not counted).")
    number: str | None
    field: str
    message: str


class ContactImportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    errors: list[RowErrorOut]
    number_types: dict[str, int] = Field(
        default_factory=dict,
        description="Imported rows by line type (mobile, fixed_line, premium_rate, …); campaigns skip non-mobiles.",
    )


class ConsentIn(BaseModel):
    kind: Literal["opt_in", "opt_out"]
    source: Token = Field(min_length=1, max_length=64)
    proof: SmsText | None = Field(default=None, max_length=2000)
    ip: IPv4Address | IPv6Address | None = None


class ConsentOut(BaseModel):
    id: int
    kind: str
    source: str
    proof: str | None
    ip: str | None
    reason: str | None = Field(default=None, description="Why an opt-out was lifted with this opt-in.")
    recorded_at: datetime


class TimelineEventOut(BaseModel):
    at: datetime
    type: Literal[
        "click",
        "contact",
        "conversion",
        "delivery_report",
        "inbound",
        "message",
        "opt_in",
        "opt_out",
        "suppressed",
        "survey_answer",
    ]
    id: str
    data: dict[str, Any]


class ErasureOut(BaseModel):
    contact_id: int
    number_hash: str = Field(description="sha256 of the number, kept on the suppression list.")
    suppression_reason: str
    consent_records: int
    messages: int
    delivery_reports: int
    inbound_messages: int
    messages_in_flight: int = Field(description="Left to finish (suppressed when claimed); erase again later.")


class ListIn(BaseModel):
    name: Name = Field(min_length=1, max_length=100)
    kind: Literal["list", "exclude"] = Field(
        default="list", description="`exclude`: its members are taken out of an audience."
    )


class ListOut(BaseModel):
    id: int
    name: str
    kind: str
    size: int
    created_at: datetime


class MembersIn(BaseModel):
    contact_ids: list[RowId] = Field(min_length=1, max_length=10_000)


class MembersOut(BaseModel):
    changed: int = Field(description="How many were added (were not on the list) or removed (were on it).")
    size: int


class SegmentIn(BaseModel):
    name: Name = Field(min_length=1, max_length=100)
    rules: dict[str, Any] = Field(
        description='{"all": [...]} or {"any": [...]} of conditions {"field", "op", "value"}; see the contacts module.',
        examples=[{"all": [{"field": "fields.city", "op": "eq", "value": "Utrecht"}]}],
    )


class SegmentPatch(BaseModel):
    name: Name | None = Field(default=None, min_length=1, max_length=100)
    rules: dict[str, Any] | None = None


class SegmentOut(BaseModel):
    id: int
    name: str
    rules: dict[str, Any]
    size: int = Field(description="Contacts it matches now.")
    created_at: datetime
    updated_at: datetime


class OptOutIn(BaseModel):
    number: PhoneNumber = Field(min_length=3, max_length=32)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class OptOutRemovalIn(BaseModel):
    """Why an opt-out is lifted and the new consent that allows it: required to lift one
    that came from a STOP, recorded in the consent ledger as an opt-in."""

    reason: Annotated[SmsText, AfterValidator(_not_blank)] = Field(
        min_length=1, max_length=500, description="Why the opt-out is lifted, for the record."
    )
    source: Token = Field(min_length=1, max_length=64, description="Where the new consent was given, e.g. web_form.")
    proof: Annotated[SmsText, AfterValidator(_not_blank)] = Field(
        min_length=1, max_length=2000, description="The new consent: the words the person agreed to, a form's id."
    )
    ip: IPv4Address | IPv6Address | None = None


class OptOutOut(BaseModel):
    number: str | None = Field(description="None once the contact was erased (only the hash is kept).")
    number_hash: str
    reason: Literal["stop", "manual", "import", "erased"]
    source_message_id: int | None = Field(description="The inbound message that said STOP.")
    created_at: datetime


class OptOutImportIn(BaseModel):
    numbers: list[str | None] = Field(max_length=50_000)


class OptOutImportOut(BaseModel):
    added: int
    existing: int
    errors: list[RowErrorOut]
