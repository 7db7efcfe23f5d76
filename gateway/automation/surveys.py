"""Surveys and polls by SMS: questions asked one at a time, answers matched to the open one.

A survey is sent to an audience (lists, segments) or started by a keyword. Each number
has at most one open question at a time (a newer survey closes an older one); a reply
within the survey's window answers it. A choice question accepts the choice's key
("1", "B", "YES"), its label ("Red") or its place as a letter or number, compared like
keywords (case, accents, punctuation ignored); a free-text question takes any text. An
answer that fits none is asked again once, with `invalid_prompt`; a second miss leaves
the question unanswered and moves on. A reply after the window matches nothing.

Answers are stored per question (one per number), announced as `survey.answered`, shown
on the contact's timeline, and counted per choice by `results`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.audience import contacts
from gateway.audience.keywords import normalise_keyword
from gateway.automation.outgoing import queue_text
from gateway.core import webhooks
from gateway.core.db import get_or_raise
from gateway.core.errors import InvalidInput
from gateway.core.models import Contact, InboundMessage, Survey, SurveyAnswer, SurveyQuestion, SurveySession

__all__ = [
    "QuestionSpec",
    "SurveySpec",
    "Answered",
    "create_survey",
    "get_survey",
    "all_surveys",
    "questions_of",
    "start",
    "send_to_audience",
    "answer",
    "results",
    "match_choice",
    "question_text",
]

MAX_QUESTIONS = 20
MAX_CHOICES = 26
_YES_NO = {"yes": ("yes", "y", "ja", "j", "oui", "si"), "no": ("no", "n", "nee", "nein", "non")}


@dataclass(frozen=True)
class QuestionSpec:
    text: str
    choices: Sequence[str | Mapping[str, str]] = ()  # labels ("Red"), or {"key": "R", "label": "Red"}


@dataclass(frozen=True)
class SurveySpec:
    name: str
    questions: Sequence[QuestionSpec]
    window_seconds: int = 86_400
    invalid_prompt: str = "Sorry, that is not one of the choices."
    thanks: str | None = None


@dataclass(frozen=True)
class Answered:
    """What a reply did: `queued` message ids; `accepted` False for a re-prompted answer."""

    session_id: int
    accepted: bool
    queued: list[str]


def create_survey(s: Session, spec: SurveySpec, *, now: datetime) -> Survey:
    """Store a survey and its questions (flushed); InvalidInput for a bad one."""
    name = spec.name.strip()
    if not name:
        raise InvalidInput("name", "empty")
    if s.exec(select(Survey.id).where(Survey.name == name)).first() is not None:
        raise InvalidInput("name", f"a survey named {name!r} exists")
    if not spec.questions or len(spec.questions) > MAX_QUESTIONS:
        raise InvalidInput("questions", f"between 1 and {MAX_QUESTIONS} questions")
    if not 60 <= spec.window_seconds <= 30 * 86_400:
        raise InvalidInput("window_seconds", "between a minute and 30 days")
    survey = Survey(
        name=name, window_seconds=spec.window_seconds, invalid_prompt=spec.invalid_prompt, thanks=spec.thanks,
        created_at=now,
    )  # fmt: skip
    s.add(survey)
    s.flush()
    assert survey.id is not None
    for position, q in enumerate(spec.questions, 1):
        where = f"questions[{position - 1}]"
        if not q.text.strip():
            raise InvalidInput(f"{where}.text", "empty")
        s.add(SurveyQuestion(survey_id=survey.id, position=position, text=q.text.strip(), choices=_choices(q, where)))
    s.flush()
    return survey


def get_survey(s: Session, survey_id: int) -> Survey:
    return get_or_raise(s, Survey, survey_id, "survey")


def all_surveys(s: Session) -> list[Survey]:
    return list(s.exec(select(Survey).order_by(col(Survey.id))))


def questions_of(s: Session, survey_id: int) -> list[SurveyQuestion]:
    query = select(SurveyQuestion).where(SurveyQuestion.survey_id == survey_id)
    return list(s.exec(query.order_by(col(SurveyQuestion.position))))


def start(s: Session, survey_id: int, contact: Contact, *, now: datetime) -> list[str]:
    """Ask `contact` the first question (closing any question still open to them); the message queued."""
    survey = get_survey(s, survey_id)
    first = questions_of(s, survey_id)[0]
    _close_open(s, contact.number, now)
    s.add(
        SurveySession(
            survey_id=survey_id, contact_id=contact.id, number=contact.number, asked_at=now,
            expires_at=now + timedelta(seconds=survey.window_seconds),
        )
    )  # fmt: skip
    return [queue_text(s, contact.number, question_text(first), now=now, contact_id=contact.id)]


def send_to_audience(
    s: Session, survey_id: int, *, now: datetime, lists: Sequence[int] = (), segments: Sequence[int] = ()
) -> int:
    """Start the survey for every contact on `lists` or in `segments`; how many were asked."""
    get_survey(s, survey_id)
    ids = list(s.exec(contacts.audience(s, lists=lists, segments=segments)))
    asked = 0
    for contact in s.exec(select(Contact).where(col(Contact.id).in_(ids)).order_by(col(Contact.id))):
        start(s, survey_id, contact, now=now)
        asked += 1
    s.flush()
    return asked


def answer(s: Session, number: str, message: InboundMessage, *, now: datetime) -> Answered | None:
    """Take `message` as the answer to the number's open question; None when none is open."""
    session = s.exec(
        select(SurveySession)
        .where(SurveySession.number == number, SurveySession.status == "open")
        .order_by(col(SurveySession.id).desc())
        .with_for_update()
    ).first()
    if session is None:
        return None
    assert session.id is not None
    if session.expires_at <= now:
        session.status = "expired"
        s.add(session)
        return None
    survey = get_survey(s, session.survey_id)
    questions = questions_of(s, survey.id)  # type: ignore[arg-type]
    question = questions[session.position - 1]
    text = message.text.strip()
    choice = match_choice(question.choices, text) if question.choices else None
    valid = bool(text) and (choice is not None or not question.choices)
    if not valid and not session.reprompted:
        session.reprompted = True
        session.expires_at = now + timedelta(seconds=survey.window_seconds)
        s.add(session)
        prompt = f"{survey.invalid_prompt} {question_text(question)}"
        return Answered(session.id, False, [queue_text(s, number, prompt, now=now, contact_id=session.contact_id)])
    if valid:
        s.add(
            SurveyAnswer(
                session_id=session.id, survey_id=survey.id, question_id=question.id, contact_id=session.contact_id,  # type: ignore[arg-type]
                number=number, choice=choice, text=text, inbound_message_id=message.id, answered_at=now,
            )
        )  # fmt: skip
        webhooks.enqueue(
            s,
            "survey.answered",
            {"survey_id": survey.id, "question": question.position, "number": number, "choice": choice,
             "text": text, "at": now.isoformat()},
            now=now,
        )  # fmt: skip
    queued: list[str] = []
    if session.position < len(questions):
        session.position += 1
        session.reprompted = False
        session.asked_at, session.expires_at = now, now + timedelta(seconds=survey.window_seconds)
        queued.append(queue_text(s, number, question_text(questions[session.position - 1]), now=now,
                                 contact_id=session.contact_id))  # fmt: skip
    else:
        session.status = "done"
        if survey.thanks:
            queued.append(queue_text(s, number, survey.thanks, now=now, contact_id=session.contact_id))
    s.add(session)
    s.flush()
    return Answered(session.id, valid, queued)


def results(s: Session, survey_id: int) -> dict[str, Any]:
    """Per question: answers per choice (every choice listed, zero too), free-text answers
    counted; and the sessions by state."""
    get_survey(s, survey_id)
    out: list[dict[str, Any]] = []
    for q in questions_of(s, survey_id):
        counts = dict(
            s.execute(
                sa.select(col(SurveyAnswer.choice), sa.func.count())
                .where(col(SurveyAnswer.question_id) == q.id)
                .group_by(col(SurveyAnswer.choice))
            ).all()
        )
        entry: dict[str, Any] = {"position": q.position, "text": q.text, "answers": sum(counts.values())}
        if q.choices:
            entry["choices"] = [
                {"key": c["key"], "label": c["label"], "count": counts.get(c["key"], 0)} for c in q.choices
            ]
        out.append(entry)
    sessions = dict(
        s.execute(
            sa.select(col(SurveySession.status), sa.func.count())
            .where(col(SurveySession.survey_id) == survey_id)
            .group_by(col(SurveySession.status))
        ).all()
    )
    return {"survey_id": survey_id, "questions": out, "sessions": sessions}


def match_choice(choices: Sequence[Mapping[str, str]], text: str) -> str | None:
    """The key of the choice `text` names (key, label, or place as number or letter), or None."""
    said = normalise_keyword(text)
    if not said:
        return None
    for i, c in enumerate(choices):
        names = {normalise_keyword(c["key"]), normalise_keyword(c["label"]), str(i + 1), chr(ord("a") + i)}
        names.update(_YES_NO.get(normalise_keyword(c["key"]), ()))
        if said in names:
            return c["key"]
    return None


def question_text(question: SurveyQuestion) -> str:
    """The question as sent: its text, then one line per choice ("1) Red")."""
    lines = [question.text]
    lines += [f"{c['key']}) {c['label']}" for c in question.choices if c["key"].casefold() != c["label"].casefold()]
    if question.choices and len(lines) == 1:
        lines[0] += " (" + "/".join(c["label"] for c in question.choices) + ")"
    return "\n".join(lines)


# --- helpers ------------------------------------------------------------------------------


def _choices(q: QuestionSpec, where: str) -> list[dict[str, str]]:
    if len(q.choices) > MAX_CHOICES:
        raise InvalidInput(f"{where}.choices", f"at most {MAX_CHOICES}")
    out: list[dict[str, str]] = []
    for i, c in enumerate(q.choices, 1):
        if isinstance(c, str):
            key, label = str(i), c
        else:
            key, label = str(c.get("key", i)), str(c.get("label", c.get("key", "")))
        if not normalise_keyword(key) or not label.strip():
            raise InvalidInput(f"{where}.choices[{i - 1}]", "a key and a label with letters or digits")
        out.append({"key": key, "label": label.strip()})
    if len({normalise_keyword(c["key"]) for c in out}) != len(out):
        raise InvalidInput(f"{where}.choices", "keys must differ")
    return out


def _close_open(s: Session, number: str, now: datetime) -> None:
    s.execute(
        sa.update(SurveySession)
        .where(col(SurveySession.number) == number, col(SurveySession.status) == "open")
        .values(status="expired")
    )
