"""Two-way SMS: keywords, sequences, events, auto-replies, surveys and conversations.

Thin routes over `gateway.automation`; every one needs the marketing scope.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Path, Query
from sqlmodel import Session

from api.automation_schemas import (
    AutoReplyIn,
    EventIn,
    KeywordIn,
    ReplyIn,
    SequenceIn,
    SurveyIn,
    SurveySendIn,
)
from api.deps import ApiRoute, GatewayDep, MarketingKey, RowId, run_write
from gateway.automation import autoreply, conversations, events, keywords, sequences, surveys
from gateway.core.db import session
from gateway.core.numbers import normalise_number

router = APIRouter(route_class=ApiRoute, tags=["two-way"])

Number = Path(min_length=3, max_length=20)


def _row(row: Any) -> dict[str, Any]:
    return row.model_dump(mode="json")


# --- keywords -----------------------------------------------------------------------------


@router.post("/v1/keywords", status_code=201, responses={404: {}, 422: {}})
def create_keyword(body: KeywordIn, key: MarketingKey, gateway: GatewayDep) -> dict[str, Any]:
    """A custom keyword and its actions (built-in STOP/START/HELP words are refused)."""
    spec = keywords.RuleSpec(
        word=body.word, actions=body.actions, reply=body.reply, language=body.language, modem_id=body.modem,
        double_opt_in=body.double_opt_in, confirm_prompt=body.confirm_prompt,
    )  # fmt: skip
    row = run_write(
        gateway, keywords.create_rule, spec, now=gateway.clock.now(), consent_settings=gateway.settings.consent,
        egress_policy=gateway.egress_policy(), api_key_id=key.id,
    )  # fmt: skip
    return _row(row)


@router.get("/v1/keywords")
def list_keywords(key: MarketingKey, gateway: GatewayDep) -> list[dict[str, Any]]:
    with session(gateway.engine) as s:
        return [_row(r) for r in keywords.all_rules(s)]


@router.delete("/v1/keywords/{rule_id}", status_code=204, responses={404: {}})
def delete_keyword(rule_id: RowId, key: MarketingKey, gateway: GatewayDep) -> None:
    run_write(gateway, keywords.delete_rule, rule_id)


# --- sequences and events -----------------------------------------------------------------


@router.post("/v1/sequences", status_code=201, responses={404: {}, 422: {}})
def create_sequence(body: SequenceIn, key: MarketingKey, gateway: GatewayDep) -> dict[str, Any]:
    """A drip sequence: steps due `delay_seconds` after a contact enters it."""
    spec = sequences.SequenceSpec(
        name=body.name, steps=[sequences.StepSpec(x.delay_seconds, x.template) for x in body.steps],
        category=body.category, trigger_event=body.trigger_event, trigger_list_id=body.trigger_list_id,
        exit_events=body.exit_events, exit_on_reply=body.exit_on_reply, brand=body.brand, footer=body.footer,
    )  # fmt: skip

    def create(s: Session) -> dict[str, Any]:
        row = sequences.create_sequence(s, spec, now=gateway.clock.now())
        return _sequence(s, row.id)  # type: ignore[arg-type]

    return run_write(gateway, create)


@router.get("/v1/sequences")
def list_sequences(key: MarketingKey, gateway: GatewayDep) -> list[dict[str, Any]]:
    with session(gateway.engine) as s:
        return [_row(r) for r in sequences.all_sequences(s)]


@router.get("/v1/sequences/{sequence_id}", responses={404: {}})
def get_sequence(sequence_id: RowId, key: MarketingKey, gateway: GatewayDep) -> dict[str, Any]:
    """The sequence, its steps and per-step analytics."""
    with session(gateway.engine) as s:
        return _sequence(s, sequence_id)


@router.get("/v1/sequences/{sequence_id}/enrollments", responses={404: {}})
def list_enrollments(
    sequence_id: RowId,
    key: MarketingKey,
    gateway: GatewayDep,
    status: str | None = Query(default=None, pattern="^(active|done|exited)$"),
) -> list[dict[str, Any]]:
    with session(gateway.engine) as s:
        sequences.get_sequence(s, sequence_id)
        return [_row(r) for r in sequences.enrollments_of(s, sequence_id, status=status)]


def _sequence(s: Session, sequence_id: int) -> dict[str, Any]:
    row = sequences.get_sequence(s, sequence_id)
    return {
        **_row(row),
        "steps": [_row(x) for x in sequences.steps_of(s, sequence_id)],
        "analytics": sequences.step_analytics(s, sequence_id),
    }


@router.post("/v1/events", status_code=201, responses={404: {}, 422: {}})
def add_event(body: EventIn, key: MarketingKey, gateway: GatewayDep) -> dict[str, Any]:
    """Something a contact did (`cart_abandoned`, `purchase` …): starts and ends sequences."""
    outcome = run_write(
        gateway, events.record_event, body.name, now=gateway.clock.now(), region=gateway.settings.default_region,
        default_time_zone=gateway.settings.consent.default_time_zone, number=body.number, contact_id=body.contact,
        properties=body.properties,
    )  # fmt: skip
    if outcome.enrolled:
        gateway.wake_campaigns()  # a first step due at once goes now, not at the next poll
    return {"id": outcome.event.id, "contact_id": outcome.contact_id, "enrolled": outcome.enrolled,
            "exited": outcome.exited}  # fmt: skip


# --- auto-replies -------------------------------------------------------------------------


@router.post("/v1/auto-replies", status_code=201, responses={422: {}})
def create_auto_reply(body: AutoReplyIn, key: MarketingKey, gateway: GatewayDep) -> dict[str, Any]:
    spec = autoreply.RuleSpec(
        name=body.name, reply=body.reply, modem_id=body.modem, contains=body.contains, hours_start=body.hours_start,
        hours_end=body.hours_end, time_zone=body.time_zone, max_per_period=body.max_per_period,
        period_seconds=body.period_seconds,
    )  # fmt: skip
    return _row(run_write(gateway, autoreply.create_rule, spec, now=gateway.clock.now()))


@router.get("/v1/auto-replies")
def list_auto_replies(key: MarketingKey, gateway: GatewayDep) -> list[dict[str, Any]]:
    with session(gateway.engine) as s:
        return [_row(r) for r in autoreply.all_rules(s)]


@router.delete("/v1/auto-replies/{rule_id}", status_code=204, responses={404: {}})
def delete_auto_reply(rule_id: RowId, key: MarketingKey, gateway: GatewayDep) -> None:
    run_write(gateway, autoreply.delete_rule, rule_id)


# --- surveys ------------------------------------------------------------------------------


@router.post("/v1/surveys", status_code=201, responses={422: {}})
def create_survey(body: SurveyIn, key: MarketingKey, gateway: GatewayDep) -> dict[str, Any]:
    spec = surveys.SurveySpec(
        name=body.name, questions=[surveys.QuestionSpec(q.text, q.choices) for q in body.questions],
        window_seconds=body.window_seconds, invalid_prompt=body.invalid_prompt, thanks=body.thanks,
    )  # fmt: skip

    def create(s: Session) -> dict[str, Any]:
        row = surveys.create_survey(s, spec, now=gateway.clock.now())
        return {**_row(row), "questions": [_row(q) for q in surveys.questions_of(s, row.id)]}  # type: ignore[arg-type]

    return run_write(gateway, create)


@router.get("/v1/surveys")
def list_surveys(key: MarketingKey, gateway: GatewayDep) -> list[dict[str, Any]]:
    with session(gateway.engine) as s:
        return [_row(r) for r in surveys.all_surveys(s)]


@router.post("/v1/surveys/{survey_id}/send", status_code=202, responses={404: {}, 422: {}})
def send_survey(survey_id: RowId, body: SurveySendIn, key: MarketingKey, gateway: GatewayDep) -> dict[str, int]:
    """Ask the first question of every contact on `lists` or in `segments`."""
    asked = run_write(
        gateway, surveys.send_to_audience, survey_id, now=gateway.clock.now(), lists=body.lists, segments=body.segments
    )
    gateway.wake()
    return {"asked": asked}


@router.get("/v1/surveys/{survey_id}/results", responses={404: {}})
def survey_results(survey_id: RowId, key: MarketingKey, gateway: GatewayDep) -> dict[str, Any]:
    """Answers per question and choice, and sessions by state."""
    with session(gateway.engine) as s:
        return surveys.results(s, survey_id)


# --- conversations ------------------------------------------------------------------------


@router.get("/v1/conversations")
def list_conversations(
    key: MarketingKey,
    gateway: GatewayDep,
    unread: bool = False,
    limit: int = Query(default=50, ge=1, le=200),
) -> list[dict[str, Any]]:
    """Numbers that wrote in, latest activity first, with their unread counts."""
    with session(gateway.engine) as s:
        return [asdict(x) for x in conversations.summaries(s, limit=limit, unread_only=unread)]


@router.get("/v1/conversations/{number}", responses={422: {}})
def read_conversation(
    key: MarketingKey, gateway: GatewayDep, number: str = Number, limit: int = Query(default=200, ge=1, le=1000)
) -> dict[str, Any]:
    """Sent and received messages with `number`, oldest first; marks them read."""
    e164 = normalise_number(number, gateway.settings.default_region)

    def read(s: Session) -> dict[str, Any]:
        unread = conversations.mark_read(s, e164, now=gateway.clock.now())
        return {"number": e164, "was_unread": unread, "messages": conversations.thread(s, e164, limit=limit)}

    return run_write(gateway, read)


@router.post("/v1/conversations/{number}/reply", status_code=202, responses={422: {}})
def reply(body: ReplyIn, key: MarketingKey, gateway: GatewayDep, number: str = Number) -> dict[str, Any]:
    """Answer in the conversation: a transactional message to `number` (the suppression list still holds)."""
    submitted = gateway.submit(api_key_id=key.id, to=number, text=body.text)
    return {"id": submitted.message.id, "status": submitted.message.status, "to": submitted.message.recipient}
