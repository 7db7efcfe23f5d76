"""Request and response bodies of the campaign API: campaigns, reviews, previews, links, conversions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from api.schemas import PhoneNumber

__all__ = [
    "VariantIn",
    "CampaignIn",
    "CampaignPatch",
    "CampaignOut",
    "IssueOut",
    "ReviewOut",
    "TestSendIn",
    "TestSendOut",
    "ScheduleIn",
    "ConversionIn",
    "ConversionOut",
    "UtmIn",
    "CloneIn",
    "WinnerIn",
    "RecipientOut",
    "RecipientPage",
]

_CLOCK = r"^([01][0-9]|2[0-4]):[0-5][0-9]$"  # HH:MM, recipient local time
Ids = list[int]


class VariantIn(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    template: str = Field(min_length=1, max_length=1600)
    weight: int | None = Field(
        default=None, ge=1, le=1000, description="Its share is its weight over the sum of the weights."
    )
    split: int | None = Field(default=None, ge=1, le=1000, description="The weight's older name.")

    @model_validator(mode="after")
    def _weighted(self) -> VariantIn:
        if self.weight is None and self.split is None:
            raise ValueError("give the variant a weight")
        return self


class UtmIn(BaseModel):
    """UTM parameters of the campaign's links; a field not given takes its default."""

    source: str | None = Field(default=None, max_length=100, description="Default: sms.")
    medium: str | None = Field(default=None, max_length=100, description="Default: sms.")
    campaign: str | None = Field(default=None, max_length=100, description="Default: the campaign's slug.")
    content: str | None = Field(default=None, max_length=100, description="Default: the variant's name.")
    term: str | None = Field(default=None, max_length=100, description="Default: none.")

    model_config = {"extra": "forbid"}


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    slug: str | None = Field(
        default=None, max_length=60, description="utm_campaign; made from the name when not given."
    )
    template: str = Field(
        default="", max_length=1600, description="Tokens {{first_name|there}}; URLs become short links."
    )
    variants: list[VariantIn] = Field(default_factory=list, max_length=10)
    brand: str | None = Field(default=None, max_length=40)
    footer: str | None = Field(default="Reply STOP to opt out", max_length=100)
    window_start: str | None = Field(
        default=None,
        pattern=_CLOCK,
        description="Recipient local time, HH:MM; by default the [campaigns] setting (10:00 unless set).",
    )
    window_end: str | None = Field(
        default=None,
        pattern=_CLOCK,
        description="Recipient local time, HH:MM (24:00 allowed); by default the [campaigns] setting (20:00 unless set).",
    )
    frequency_cap: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="Marketing messages per number in frequency_days (0: no cap); by default the [campaigns] setting (4 unless set).",
    )
    frequency_days: int | None = Field(
        default=None, ge=1, le=365, description="By default the [campaigns] setting (7 unless set)."
    )
    lists: Ids = Field(default_factory=list, max_length=100)
    segments: Ids = Field(default_factory=list, max_length=100)
    exclude_lists: Ids = Field(default_factory=list, max_length=100)
    utm: UtmIn | None = None
    test_share: int | None = Field(
        default=None, ge=1, le=99,
        description="Percent of the audience that tests the variants; the winner goes to the rest after the wait.",
    )  # fmt: skip
    ab_metric: Literal["click", "conversion", "delivery"] | None = Field(
        default=None, description="What picks the winner: click, conversion or delivery rate (default click)."
    )
    ab_wait_minutes: int | None = Field(
        default=None, ge=0, le=43200, description="Minutes from queuing the test group to choosing (default 240)."
    )
    transliterate: bool = Field(
        default=False,
        description="Replace typographic quotes, dashes, … and look-alike letters when that saves parts "
        "(also on when the [sms] transliterate setting is).",
    )
    include_non_mobile: bool = Field(
        default=False,
        description="Send to fixed-line, premium-rate and other non-mobile numbers too (skipped by default).",
    )

    model_config = {
        "json_schema_extra": {
            "example": {
                "name": "Winter sale",
                "template": "Hi {{first_name|there}}, 20% off: https://shop.example/sale",
                "lists": [1],
            }
        }
    }


class CampaignPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    slug: str | None = Field(default=None, max_length=60)
    template: str | None = Field(default=None, max_length=1600)
    variants: list[VariantIn] | None = Field(default=None, max_length=10)
    brand: str | None = Field(default=None, max_length=40)
    footer: str | None = Field(default=None, max_length=100)
    window_start: str | None = Field(default=None, pattern=_CLOCK)
    window_end: str | None = Field(default=None, pattern=_CLOCK)
    frequency_cap: int | None = Field(default=None, ge=0, le=1000)
    frequency_days: int | None = Field(default=None, ge=1, le=365)
    lists: Ids | None = None
    segments: Ids | None = None
    exclude_lists: Ids | None = None
    utm: UtmIn | None = None
    test_share: int | None = Field(default=None, ge=1, le=99)
    ab_metric: Literal["click", "conversion", "delivery"] | None = None
    ab_wait_minutes: int | None = Field(default=None, ge=0, le=43200)
    transliterate: bool | None = None
    include_non_mobile: bool | None = None


class CampaignOut(BaseModel):
    id: int
    name: str
    slug: str
    status: str
    template: str
    variants: list[dict[str, Any]]
    brand: str | None
    footer: str | None
    window_start: str
    window_end: str
    schedule: str
    send_at: datetime | None
    local_send_at: str | None
    frequency_cap: int
    frequency_days: int
    lists: list[int]
    segments: list[int]
    exclude_lists: list[int]
    transliterate: bool
    include_non_mobile: bool
    invalid_numbers: int
    non_mobile: int = Field(description="Audience members skipped at expansion: not a mobile number.")
    expanded_at: datetime | None
    utm: dict[str, Any]
    test_share: int | None
    ab_metric: str
    ab_wait_minutes: int
    ab_phase: str | None
    winner_variant_id: int | None
    ab_decision: dict[str, Any] | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class IssueOut(BaseModel):
    code: str
    message: str
    count: int | None = None


class ReviewOut(BaseModel):
    status: str
    errors: list[IssueOut]
    warnings: list[IssueOut]
    audience: int
    sendable: int
    invalid_numbers: int
    opted_out: int
    no_consent: int
    deferred: int
    segments_min: int
    segments_max: int
    segments_total: int
    quota: int
    quota_used: int
    quota_share: float | None
    non_mobile: int = Field(description="Contacts left out: not a mobile number (see non_mobile_types).")
    non_mobile_types: dict[str, int] = Field(description="Those left out by line type.")
    ucs2: int = Field(description="Recipients whose text goes as UCS-2.")
    encoding_explained: dict[str, Any] | None = Field(
        description="For the text with the most parts: the characters that force UCS-2 and the parts "
        "transliteration or a national shift table would save (as `modemgate pdu estimate --explain`)."
    )


class TestSendIn(BaseModel):
    numbers: list[PhoneNumber] = Field(min_length=1, max_length=5)
    contact_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="Render for this contact (in the variant they are assigned)."
    )
    variant: str | None = Field(default=None, max_length=40, description="Send this variant (by name).")


class TestSendOut(BaseModel):
    message_ids: list[str]


class ScheduleIn(BaseModel):
    kind: Literal["now", "at", "local"] = "now"
    at: datetime | None = Field(default=None, description="kind=at: a time with offset.")
    local_at: datetime | None = Field(
        default=None, description="kind=local: a wall time without offset, per recipient zone."
    )


class ConversionIn(BaseModel):
    order_id: str = Field(
        min_length=1, max_length=100, description="The shop's order id: the same order posted again counts once."
    )
    click_id: str | None = Field(
        default=None, max_length=16, description="The click id the landing page got (`mg_click` by default)."
    )
    code: str | None = Field(default=None, max_length=16, description="The short link's code the buyer came through.")
    contact_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    campaign_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    value: float | None = Field(default=None, ge=-1e12, le=1e12)
    currency: str | None = Field(default=None, min_length=3, max_length=3, description="ISO 4217, e.g. EUR.")


class ConversionOut(BaseModel):
    id: int
    order_id: str | None
    campaign_id: int
    variant_id: int | None
    contact_id: int | None
    message_id: str | None
    click_id: str | None
    value: float | None
    currency: str | None
    test: bool
    occurred_at: datetime


class CloneIn(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100, description="Default: '<name> (copy)'.")


class WinnerIn(BaseModel):
    variant: str = Field(min_length=1, max_length=40, description="The variant the rest of the audience gets.")


class RecipientOut(BaseModel):
    message_id: str
    contact_id: int | None
    number: str
    variant: str | None
    status: str
    reason: str | None = Field(description="Why it was not sent (or not yet); null once sent.")
    due_at: datetime | None = Field(description="A waiting message: when it is due again.")
    sent_at: datetime | None
    clicks: int
    conversions: int
    revenue: float


class RecipientPage(BaseModel):
    items: list[RecipientOut]
    next_cursor: str | None
