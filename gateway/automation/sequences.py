"""Drip sequences: steps sent at set times after a trigger, until done or an exit.

A contact enters a sequence (`enroll`) through a keyword's action, by joining the
sequence's list (`enroll_list_joins`) or by an API event (`gateway.automation.events`).
Step n is due `delay_seconds` after the contact entered. It leaves early (`exit_enrollments`) on STOP,
on a reply (when the sequence says so) or on one of its exit events (a `purchase` ends
the abandoned-cart reminders).

The scheduler (`run_due`) works like the outbox's claim: due enrollments are durable
rows, taken a batch at a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two gateways
never take the same row), and in the same transaction each step's message is queued,
its `StepSend` recorded (unique per enrollment and step) and the enrollment moved on to
its next step. A crash before the commit leaves the steps due; after it they are in the
outbox, whose own claim sends each once. Nothing is lost and nothing is queued twice.

A step's message is an ordinary outbox message of the sequence's category, with the
contact's time zone: the claim policy (`gateway.campaigns.compliance`) holds it to
consent, the send window (deferred into it, not dropped) and the frequency cap at send
time, like any marketing message. Tokens come from the contact and from the triggering
event's properties; URLs, in the template or in a property, become tracked short links.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gateway.campaigns import links, templates
from gateway.core import outbox, webhooks
from gateway.core.db import get_or_raise, session
from gateway.core.errors import InvalidInput
from gateway.core.models import (
    CATEGORIES,
    Click,
    Contact,
    ContactList,
    DripSequence,
    Enrollment,
    Link,
    ListMembership,
    Message,
    SequenceStep,
    StepSend,
    Webhook,
)

__all__ = [
    "StepSpec",
    "SequenceSpec",
    "create_sequence",
    "get_sequence",
    "all_sequences",
    "steps_of",
    "enroll",
    "exit_enrollments",
    "run_due",
    "queue_due",
    "enroll_list_joins",
    "step_analytics",
    "enrollments_of",
    "BATCH",
]

BATCH = 1_000  # enrollments per transaction of the scheduler
MAX_STEPS = 50


@dataclass(frozen=True)
class StepSpec:
    delay_seconds: int
    template: str


@dataclass(frozen=True)
class SequenceSpec:
    name: str
    steps: Sequence[StepSpec]
    category: str = "marketing"
    trigger_event: str | None = None
    trigger_list_id: int | None = None
    exit_events: Sequence[str] = ()
    exit_on_reply: bool = False
    brand: str | None = None
    footer: str | None = None


def create_sequence(s: Session, spec: SequenceSpec, *, now: datetime) -> DripSequence:
    """Store a sequence and its steps (flushed). InvalidInput for a bad template, no steps,
    delays out of order, an unknown category or list, or a name in use."""
    name = spec.name.strip()
    if not name:
        raise InvalidInput("name", "empty")
    if s.exec(select(DripSequence.id).where(DripSequence.name == name)).first() is not None:
        raise InvalidInput("name", f"a sequence named {name!r} exists")
    if spec.category not in CATEGORIES:
        raise InvalidInput("category", f"must be one of {', '.join(CATEGORIES)}")
    if not spec.steps or len(spec.steps) > MAX_STEPS:
        raise InvalidInput("steps", f"between 1 and {MAX_STEPS} steps")
    previous = -1
    for i, step in enumerate(spec.steps):
        templates.compile_template(step.template, field=f"steps[{i}].template")
        if step.delay_seconds < 0 or step.delay_seconds < previous:
            raise InvalidInput(f"steps[{i}].delay_seconds", "not negative, and not before the step before it")
        previous = step.delay_seconds
    if spec.trigger_list_id is not None:
        get_or_raise(s, ContactList, spec.trigger_list_id, "list")
    row = DripSequence(
        name=name, category=spec.category, trigger_event=spec.trigger_event or None,
        trigger_list_id=spec.trigger_list_id, list_seen_at=now, exit_events=list(spec.exit_events),
        exit_on_reply=spec.exit_on_reply, brand=spec.brand, footer=spec.footer, created_at=now,
    )  # fmt: skip
    s.add(row)
    s.flush()
    assert row.id is not None
    for position, step in enumerate(spec.steps, 1):
        s.add(
            SequenceStep(
                sequence_id=row.id, position=position, delay_seconds=step.delay_seconds, template=step.template
            )
        )
    s.flush()
    return row


def get_sequence(s: Session, sequence_id: int) -> DripSequence:
    return get_or_raise(s, DripSequence, sequence_id, "sequence")


def all_sequences(s: Session) -> list[DripSequence]:
    return list(s.exec(select(DripSequence).order_by(col(DripSequence.id))))


def steps_of(s: Session, sequence_id: int) -> list[SequenceStep]:
    query = select(SequenceStep).where(SequenceStep.sequence_id == sequence_id)
    return list(s.exec(query.order_by(col(SequenceStep.position))))


def enroll(
    s: Session,
    sequence_id: int,
    contact: Contact,
    *,
    now: datetime,
    properties: Mapping[str, Any] | None = None,
) -> Enrollment:
    """Start `contact` on the sequence (flushed); a contact already going through it keeps
    its place (the one enrollment is returned). The first step is due after its delay."""
    sequence = get_sequence(s, sequence_id)
    active = s.exec(
        select(Enrollment).where(
            Enrollment.sequence_id == sequence_id, Enrollment.number == contact.number, Enrollment.status == "active"
        )
    ).first()
    if active is not None:
        return active
    first = steps_of(s, sequence_id)[0]
    row = Enrollment(
        sequence_id=sequence.id,  # type: ignore[arg-type]
        contact_id=contact.id,
        number=contact.number,
        properties=dict(properties or {}),
        due_at=now + timedelta(seconds=first.delay_seconds),
        started_at=now,
        updated_at=now,
    )
    s.add(row)
    s.flush()
    return row


def exit_enrollments(
    s: Session,
    number: str,
    reason: str,
    *,
    now: datetime,
    sequence_ids: Iterable[int] | None = None,
) -> int:
    """End the number's active enrollments (of `sequence_ids`, else all) with `reason`:
    no further step is queued. Announces `sequence.exited` for each; returns how many."""
    query = select(Enrollment).where(Enrollment.number == number, Enrollment.status == "active")
    if sequence_ids is not None:
        wanted = list(sequence_ids)
        if not wanted:
            return 0
        query = query.where(col(Enrollment.sequence_id).in_(wanted))
    rows = s.exec(query.with_for_update()).all()
    for row in rows:
        row.status, row.exit_reason, row.due_at, row.updated_at = "exited", reason, None, now
        s.add(row)
        webhooks.enqueue(
            s,
            "sequence.exited",
            {"sequence_id": row.sequence_id, "enrollment_id": row.id, "number": number, "reason": reason,
             "after_step": row.next_position - 1, "at": now.isoformat()},
            now=now,
        )  # fmt: skip
    s.flush()
    return len(rows)


def enrollments_of(s: Session, sequence_id: int, *, status: str | None = None, limit: int = 200) -> list[Enrollment]:
    query = select(Enrollment).where(Enrollment.sequence_id == sequence_id)
    if status is not None:
        query = query.where(Enrollment.status == status)
    return list(s.exec(query.order_by(col(Enrollment.id)).limit(limit)))


# --- the scheduler ------------------------------------------------------------------------


def run_due(engine: Engine, *, now: datetime, public_url: str = "", batch: int = BATCH) -> int:
    """Queue every step due by `now`, a batch per transaction; the number of messages queued."""
    queued = 0
    while True:
        with session(engine, write=True) as s:
            taken, ids = _queue_batch(s, now=now, public_url=public_url, batch=batch, only=None)
            s.commit()
        queued += len(ids)
        if taken < batch:
            return queued


def queue_due(
    s: Session, *, now: datetime, public_url: str, batch: int = BATCH, only: Sequence[int] | None = None
) -> list[str]:
    """One batch of due steps (of the enrollments `only`, when given) queued in the
    caller's transaction (no commit); the ids of the messages queued."""
    return _queue_batch(s, now=now, public_url=public_url, batch=batch, only=only)[1]


def _queue_batch(
    s: Session, *, now: datetime, public_url: str, batch: int, only: Sequence[int] | None
) -> tuple[int, list[str]]:
    """(enrollments taken, ids of the messages queued)."""
    if only is not None and not only:
        return 0, []
    where = [col(Enrollment.status) == "active", col(Enrollment.due_at) <= now]
    if only is not None:
        where.append(col(Enrollment.id).in_(list(only)))
    due = s.execute(
        sa.select(
            col(Enrollment.id), col(Enrollment.sequence_id), col(Enrollment.number), col(Enrollment.contact_id),
            col(Enrollment.properties), col(Enrollment.next_position), col(Enrollment.started_at),
        )
        .where(*where)
        .order_by(col(Enrollment.due_at), col(Enrollment.id))
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()  # fmt: skip
    if not due:
        return 0, []
    plans = _Plans(s)
    announce = _subscribed(s, "sequence.step_sent")  # one look per batch, not one per step
    people = _contacts(s, {row.contact_id for row in due if row.contact_id is not None})
    drafts: list[outbox.Draft] = []
    sends: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    new_links: list[dict[str, Any]] = []
    for row in due:
        sequence, steps = plans.get(row.sequence_id)
        step = steps.get(row.next_position)
        if step is None or not sequence.enabled:  # the sequence lost its steps, or was switched off
            moves.append(_move(row.id, "done", None, row.next_position, now))
            continue
        contact = people.get(row.contact_id) if row.contact_id is not None else None
        values = _values(row.number, contact, row.properties)
        draft_id = outbox.new_message_id()
        text = _render(plans.template(step), values, row, sequence, draft_id, public_url, new_links, now)
        drafts.append(
            outbox.Draft(
                row.number, text, f"sequence-{sequence.id}", category=sequence.category,  # type: ignore[arg-type]
                contact_id=row.contact_id, time_zone=contact.time_zone if contact else None, id=draft_id,
            )
        )  # fmt: skip
        sends.append({"enrollment_id": row.id, "sequence_id": sequence.id, "step_id": step.id,
                      "message_id": draft_id, "queued_at": now})  # fmt: skip
        following = steps.get(row.next_position + 1)
        if following is None:
            moves.append(_move(row.id, "done", None, row.next_position + 1, now))
        else:
            due_at = row.started_at + timedelta(seconds=following.delay_seconds)
            moves.append(_move(row.id, "active", max(due_at, now), row.next_position + 1, now))
        if announce:
            webhooks.enqueue(
            s,
            "sequence.step_sent",
            {"sequence_id": sequence.id, "enrollment_id": row.id, "step": step.position, "message_id": draft_id,
             "number": row.number, "at": now.isoformat()},
            now=now,
        )  # fmt: skip
    outbox.insert_many(s, drafts, now=now)
    if sends:
        s.execute(sa.insert(StepSend), sends)
    if new_links:
        s.execute(sa.insert(Link), new_links)
    # Core, not the ORM's bulk update: the rows were read as tuples, and thousands of
    # them go in one executemany.
    table: sa.Table = Enrollment.__table__  # type: ignore[attr-defined]
    s.connection().execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("eid"))
        .values(status=sa.bindparam("st"), due_at=sa.bindparam("due"), next_position=sa.bindparam("pos"),
                updated_at=sa.bindparam("at")),
        moves,
    )  # fmt: skip
    s.expire_all()  # an enrollment loaded earlier in this session reads the new state
    return len(due), [d.id for d in drafts]


def _subscribed(s: Session, event: str) -> bool:
    hooks = s.exec(select(Webhook.events).where(Webhook.enabled == True)).all()  # noqa: E712
    return any(event in events.split(",") for events in hooks)


def _move(enrollment_id: int, status: str, due: datetime | None, position: int, now: datetime) -> dict[str, Any]:
    return {"eid": enrollment_id, "st": status, "due": due, "pos": position, "at": now}


class _Plans:
    """Sequences, their steps and compiled templates, read once per batch."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self._plans: dict[int, tuple[DripSequence, dict[int, SequenceStep]]] = {}
        self._templates: dict[int, templates.Template] = {}

    def get(self, sequence_id: int) -> tuple[DripSequence, dict[int, SequenceStep]]:
        if sequence_id not in self._plans:
            sequence = get_sequence(self.s, sequence_id)
            self._plans[sequence_id] = (sequence, {x.position: x for x in steps_of(self.s, sequence_id)})
        return self._plans[sequence_id]

    def template(self, step: SequenceStep) -> templates.Template:
        assert step.id is not None
        if step.id not in self._templates:
            self._templates[step.id] = templates.compile_template(step.template)
        return self._templates[step.id]


def _contacts(s: Session, ids: set[int]) -> dict[int, Contact]:
    if not ids:
        return {}
    return {c.id: c for c in s.exec(select(Contact).where(col(Contact.id).in_(ids)))}  # type: ignore[misc]


def _values(number: str, contact: Contact | None, properties: Mapping[str, Any]) -> dict[str, Any]:
    """Tokens: the event's properties, with the contact's own fields over them."""
    values = dict(properties or {})
    if contact is not None:
        values.update(templates.contact_values(number, contact.first_name, contact.last_name, contact.custom_fields))
    else:
        values["number"] = number
    return values


def _render(
    template: templates.Template,
    values: dict[str, Any],
    row: Any,
    sequence: DripSequence,
    message_id: str,
    public_url: str,
    new_links: list[dict[str, Any]],
    now: datetime,
) -> str:
    """The step's text for one contact; each URL (in the template, or a token's value that
    is a URL, such as an event's `cart_url`) becomes the contact's own tracked link."""
    if public_url:
        track = _Tracker(public_url, sequence, row.contact_id, message_id, new_links, now)
        for token in template.tokens:
            value = values.get(token.name)
            if isinstance(value, str) and value.startswith(("http://", "https://")):
                values[token.name] = track(value)
        body = template.render(values, [track(url) for url in template.urls])
    else:
        body = template.render(values)
    return templates.compose(body, brand=sequence.brand, footer=sequence.footer)


@dataclass
class _Tracker:
    public_url: str
    sequence: DripSequence
    contact_id: int | None
    message_id: str
    rows: list[dict[str, Any]]
    now: datetime

    def __call__(self, url: str) -> str:
        code = links.new_code()
        target = _tagged(url, f"sequence-{self.sequence.id}")
        self.rows.append({"code": code, "target": target, "campaign_id": None, "variant_id": None,
                          "contact_id": self.contact_id, "message_id": self.message_id, "created_at": self.now})  # fmt: skip
        return templates.short_link(self.public_url, code)


@lru_cache(maxsize=4096)
def _tagged(url: str, campaign: str) -> str:
    """The link's target with its UTM tags (the same URL recurs in every contact's step)."""
    return links.with_utm(url, campaign=campaign, variant=None)


# --- triggers -----------------------------------------------------------------------------


def enroll_list_joins(s: Session, *, now: datetime) -> int:
    """Enroll the contacts added to a sequence's trigger list since it last looked; how many."""
    entered = 0
    for sequence in s.exec(
        select(DripSequence).where(col(DripSequence.trigger_list_id).is_not(None), DripSequence.enabled == True)  # noqa: E712
    ):
        since = sequence.list_seen_at or sequence.created_at
        joined = s.exec(
            select(Contact)
            .join(ListMembership, col(ListMembership.contact_id) == col(Contact.id))
            .where(ListMembership.list_id == sequence.trigger_list_id, col(ListMembership.added_at) > since,
                   col(ListMembership.added_at) <= now)
        ).all()  # fmt: skip
        for contact in joined:
            enroll(s, sequence.id, contact, now=now)  # type: ignore[arg-type]
            entered += 1
        sequence.list_seen_at = now
        s.add(sequence)
    s.flush()
    return entered


# --- analytics ----------------------------------------------------------------------------


def step_analytics(s: Session, sequence_id: int) -> list[dict[str, Any]]:
    """Per step: queued, sent, delivered, suppressed (held back at send time), clicked
    (contacts who opened a link of that step), exited (left the sequence after it), and
    converted (left after it on one of the sequence's exit events)."""
    get_sequence(s, sequence_id)
    out = []
    for step in steps_of(s, sequence_id):
        statuses = dict(
            s.execute(
                sa.select(col(Message.status), sa.func.count())
                .select_from(StepSend)
                .join(Message, col(Message.id) == col(StepSend.message_id))
                .where(col(StepSend.step_id) == step.id)
                .group_by(col(Message.status))
            ).all()
        )
        clicked = s.execute(
            sa.select(sa.func.count(sa.distinct(col(StepSend.enrollment_id))))
            .select_from(StepSend)
            .join(Link, col(Link.message_id) == col(StepSend.message_id))
            .join(Click, col(Click.link_id) == col(Link.id))
            .where(col(StepSend.step_id) == step.id)
        ).scalar_one()
        left = dict(
            s.execute(
                sa.select(col(Enrollment.exit_reason), sa.func.count())
                .where(col(Enrollment.sequence_id) == sequence_id, col(Enrollment.status) == "exited",
                       col(Enrollment.next_position) == step.position + 1)
                .group_by(col(Enrollment.exit_reason))
            ).all()
        )  # fmt: skip
        out.append({
            "step": step.position,
            "queued": sum(statuses.values()),
            "sent": statuses.get("sent", 0) + statuses.get("delivered", 0),
            "delivered": statuses.get("delivered", 0),
            "suppressed": statuses.get("suppressed", 0),
            "clicked": clicked,
            "exited": sum(left.values()),
            "converted": sum(n for reason, n in left.items() if reason and reason.startswith("event:")),
        })  # fmt: skip
    return out
