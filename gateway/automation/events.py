"""Contact events given through the API (`POST /v1/events`): `cart_abandoned`, `purchase` …

An event is stored against its contact (created when only an unknown number is given;
no consent comes with it), ends the contact's enrollments in sequences that exit on it,
and starts the sequences it triggers, with its properties as tokens for their steps
(`{{cart_url}}`). Exits go first, so an event that both ends and starts a sequence
restarts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from gateway.audience import contacts
from gateway.automation import sequences
from gateway.core.errors import InvalidInput
from gateway.core.models import ContactEvent, DripSequence
from gateway.core.numbers import normalise_number

__all__ = ["EventOutcome", "record_event"]

MAX_NAME = 64


@dataclass(frozen=True)
class EventOutcome:
    event: ContactEvent
    contact_id: int
    enrolled: list[int]  # enrollment ids
    exited: int


def record_event(
    s: Session,
    name: str,
    *,
    now: datetime,
    region: str,
    default_time_zone: str,
    number: str | None = None,
    contact_id: int | None = None,
    properties: Mapping[str, Any] | None = None,
) -> EventOutcome:
    """Store an event of a contact (by id or number) and act on it (flushed).
    InvalidInput for a blank name or neither contact nor number; NotFound for an unknown contact id."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput("name", f"1 to {MAX_NAME} characters")
    if contact_id is not None:
        contact = contacts.get_contact(s, contact_id)
    elif number is not None:
        e164 = normalise_number(number, region)
        contact = contacts.find_contact(s, e164) or contacts.create_contact(
            s, contacts.ContactData(e164), now=now, default_time_zone=default_time_zone
        )
    else:
        raise InvalidInput("contact", "give a contact id or a number")
    assert contact.id is not None
    props = dict(properties or {})
    event = ContactEvent(contact_id=contact.id, number=contact.number, name=name, properties=props, occurred_at=now)
    s.add(event)
    enabled = select(DripSequence).where(DripSequence.enabled == True)  # noqa: E712
    ending = [q.id for q in s.exec(enabled) if name in (q.exit_events or [])]
    exited = sequences.exit_enrollments(s, contact.number, f"event:{name}", now=now, sequence_ids=ending)  # type: ignore[arg-type]
    starting = s.exec(enabled.where(col(DripSequence.trigger_event) == name).order_by(col(DripSequence.id))).all()
    enrolled = [sequences.enroll(s, q.id, contact, now=now, properties=props).id for q in starting]  # type: ignore[arg-type]
    s.flush()
    return EventOutcome(event, contact.id, [e for e in enrolled if e is not None], exited)
