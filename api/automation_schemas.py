"""Request bodies of the two-way API: keywords, sequences, events, auto-replies, surveys, conversations."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas import PhoneNumber

__all__ = [
    "KeywordIn",
    "StepIn",
    "SequenceIn",
    "EventIn",
    "AutoReplyIn",
    "QuestionIn",
    "SurveyIn",
    "SurveySendIn",
    "ReplyIn",
]

_CLOCK = r"^([01][0-9]|2[0-4]):[0-5][0-9]$"


class KeywordIn(BaseModel):
    word: str = Field(min_length=1, max_length=64)
    language: str = Field(default="en", min_length=2, max_length=8)
    modem: str | None = Field(default=None, max_length=32, description="Only for messages this modem receives.")
    actions: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=20,
        description="Objects with a type: opt_in, list_add/list_remove (list_id), set_field (field, value), "
        "start_sequence (sequence_id), start_survey (survey_id), webhook (url).",
    )
    reply: str | None = Field(default=None, max_length=1600, description="Sent back; tokens from the contact.")
    double_opt_in: bool = False
    confirm_prompt: str | None = Field(default=None, max_length=480)


class StepIn(BaseModel):
    delay_seconds: int = Field(ge=0, le=366 * 86_400, description="After the contact entered the sequence.")
    template: str = Field(min_length=1, max_length=1600)


class SequenceIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    steps: list[StepIn] = Field(min_length=1, max_length=50)
    category: Literal["marketing", "transactional"] = "marketing"
    trigger_event: str | None = Field(default=None, max_length=64)
    trigger_list_id: int | None = None
    exit_events: list[str] = Field(default_factory=list, max_length=20)
    exit_on_reply: bool = False
    brand: str | None = Field(default=None, max_length=40)
    footer: str | None = Field(default=None, max_length=80)


class EventIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    number: PhoneNumber | None = None
    contact: int | None = Field(default=None, ge=1, description="A contact id (instead of a number).")
    properties: dict[str, Any] = Field(default_factory=dict, max_length=50)


class AutoReplyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    reply: str = Field(min_length=1, max_length=480)
    modem: str | None = Field(default=None, max_length=32)
    contains: list[str] = Field(default_factory=list, max_length=50)
    hours_start: str | None = Field(default=None, pattern=_CLOCK, description="Business hours: answered outside them.")
    hours_end: str | None = Field(default=None, pattern=_CLOCK)
    time_zone: str = "UTC"
    max_per_period: int = Field(default=1, ge=1, le=100)
    period_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400)


class QuestionIn(BaseModel):
    text: str = Field(min_length=1, max_length=480)
    choices: list[str | dict[str, str]] = Field(default_factory=list, max_length=26)


class SurveyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    questions: list[QuestionIn] = Field(min_length=1, max_length=20)
    window_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400)
    invalid_prompt: str = Field(default="Sorry, that is not one of the choices.", min_length=1, max_length=160)
    thanks: str | None = Field(default=None, max_length=480)


class SurveySendIn(BaseModel):
    lists: list[int] = Field(default_factory=list)
    segments: list[int] = Field(default_factory=list)


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=1600)
