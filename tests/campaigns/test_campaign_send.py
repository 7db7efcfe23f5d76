"""A campaign expanded into the outbox and sent: consent, opt-outs, invalid numbers and the
send window decide exactly which messages go, which wait and which never go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from gateway.core.models import Campaign, Link, Message, Part
from tests.support.campaigns import PUBLIC_URL, T0, Person, audience, by_status, drain, start

TOKYO_MORNING = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


def _people(scale: int) -> list[Person]:
    """`scale` x (2 invalid numbers, 5 opted out, 3 without consent, 10 in Tokyo, 80 to send)."""
    people = []
    for i in range(100 * scale):
        number = f"+316{10000000 + i}"
        if i < 2 * scale:
            people.append(Person(f"06-{i:04d}"))  # written around the API: not E.164
        elif i < 7 * scale:
            people.append(Person(number, opted_out=True))
        elif i < 10 * scale:
            people.append(Person(number, consent=False))
        elif i < 20 * scale:
            people.append(Person(number, first_name=f"Ken{i}", zone="Asia/Tokyo"))
        else:
            people.append(Person(number, first_name=None if i % 2 else f"Eva{i}"))
    return people


@pytest.mark.slow
def test_thousand_contacts_sent_suppressed_and_deferred_exactly(sqlite_engine) -> None:
    _run(sqlite_engine, 10, finish=False)


def test_hundred_contacts_on_either_database(engine) -> None:
    _run(engine, 1, finish=True)


def _run(engine, scale: int, *, finish: bool) -> None:
    list_id = audience(engine, _people(scale))
    campaign_id = start(engine, list_id=list_id, brand="Acme")

    sent = drain(engine, now=T0, finish=finish)

    went = "sent" if finish else "sending"
    assert len(sent) == 80 * scale
    assert by_status(engine, campaign_id) == {
        (went, None): 80 * scale,
        ("suppressed", "opted_out"): 5 * scale,
        ("suppressed", "no_consent"): 3 * scale,
        ("queued", "send_window"): 10 * scale,
    }
    with engine.connect() as conn:
        assert conn.execute(sa.select(Campaign.invalid_numbers).where(Campaign.id == campaign_id)).scalar() == 2 * scale
        waiting = (
            conn.execute(sa.select(Message.next_attempt_at).where(Message.held_reason == "send_window").distinct())
            .scalars()
            .all()
        )
        assert waiting == [TOKYO_MORNING]
        texts = dict(conn.execute(sa.select(Message.id, Message.text).where(Message.id.in_(sent))).all())
        codes = dict(conn.execute(sa.select(Link.message_id, Link.code)).all())
        # Nothing of a suppressed message reached a modem.
        stray = conn.execute(
            sa.select(sa.func.count()).select_from(Part).join(Message, Message.id == Part.message_id)
            .where(Message.status == "suppressed", Part.message_reference.is_not(None))
        ).scalar()  # fmt: skip
    assert stray == 0
    for message_id in sent:
        text = texts[message_id]
        assert text.startswith("Acme: Hi ") and text.endswith("\nReply STOP to opt out")
        assert f"{PUBLIC_URL}/r/{codes[message_id]}" in text and "shop.example" not in text
    assert sum("Hi there," in t for t in texts.values()) == 40 * scale  # no first name: the default
    assert sum("Hi Eva" in t for t in texts.values()) == 40 * scale

    assert drain(engine, now=TOKYO_MORNING - timedelta(minutes=1), finish=finish) == []
    later = drain(engine, now=TOKYO_MORNING, finish=finish)
    assert len(later) == 10 * scale
    assert by_status(engine, campaign_id)[(went, "send_window")] == 10 * scale
