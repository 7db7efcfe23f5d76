"""The sequence scheduler on both databases: due steps queued once, exits, triggers, send window."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from gateway.audience import consent, contacts
from gateway.automation import events, sequences
from gateway.campaigns.compliance import CompliancePolicy, Rules
from gateway.core.db import session
from gateway.core.models import Enrollment, Link, Message, StepSend
from tests.support.clock import T0  # 09:00 UTC, a Monday

NUMBER = "+31612345678"
PUBLIC = "https://go.example"


def _sequence(engine, **options):
    spec = sequences.SequenceSpec(
        name=options.pop("name", "drip"),
        steps=[sequences.StepSpec(0, "One {{first_name|you}}: {{url}}"), sequences.StepSpec(3600, "Two"),
               sequences.StepSpec(7200, "Three https://shop.example/x")],
        **options,
    )  # fmt: skip
    with session(engine, write=True) as s:
        row = sequences.create_sequence(s, spec, now=T0)
        s.commit()
        return row.id


def _contact(s, number=NUMBER, name="Ann"):
    return contacts.create_contact(
        s, contacts.ContactData(number, first_name=name), now=T0, default_time_zone="Europe/Amsterdam"
    )


def _texts(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(Message.recipient, Message.text).order_by(Message.created_at))]


def test_each_step_is_queued_once_when_due_and_links_are_tracked(engine):
    sequence_id = _sequence(engine, trigger_event="signed_up")
    with session(engine, write=True) as s:
        _contact(s)
        events.record_event(s, "signed_up", number=NUMBER, properties={"url": "https://shop.example/a"}, now=T0,
                            region="NL", default_time_zone="UTC")  # fmt: skip
        s.commit()
    assert sequences.run_due(engine, now=T0, public_url=PUBLIC) == 1
    assert sequences.run_due(engine, now=T0 + timedelta(minutes=59), public_url=PUBLIC) == 0
    assert sequences.run_due(engine, now=T0 + timedelta(hours=3), public_url=PUBLIC) == 1  # step two only
    # then three (a minute on, so the texts read back in the order they were queued)
    assert sequences.run_due(engine, now=T0 + timedelta(hours=3, minutes=1), public_url=PUBLIC) == 1
    assert sequences.run_due(engine, now=T0 + timedelta(days=9), public_url=PUBLIC) == 0
    texts = [t for _, t in _texts(engine)]
    assert (
        texts[0].startswith(f"One Ann: {PUBLIC}/r/") and texts[1] == "Two" and texts[2].startswith("Three https://go")
    )
    with session(engine) as s:
        targets = sorted(link.target for link in s.exec(select(Link)))
        (enrollment,) = s.exec(select(Enrollment)).all()
    assert targets[0].startswith("https://shop.example/a?utm_source=sms") and "utm_campaign=sequence-" in targets[0]
    assert (enrollment.status, enrollment.due_at) == ("done", None)
    with session(engine) as s:
        assert [a["queued"] for a in sequences.step_analytics(s, sequence_id)] == [1, 1, 1]


def test_two_schedulers_at_once_queue_each_step_once(engine):
    _sequence(engine, trigger_event="go")
    with session(engine, write=True) as s:
        for i in range(60):
            events.record_event(s, "go", number=f"+316120{i:05d}", now=T0, region="NL", default_time_zone="UTC")
        s.commit()
    counts: list[int] = []

    def run() -> None:
        counts.append(sequences.run_due(engine, now=T0, public_url=PUBLIC, batch=5))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 60
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(StepSend)).scalar_one() == 60
        assert conn.execute(sa.select(sa.func.count(sa.distinct(Message.recipient)))).scalar_one() == 60


def test_exit_event_and_reply_end_the_sequence_before_its_next_step(engine):
    _sequence(engine, name="cart", trigger_event="cart", exit_events=["purchase"])
    quiet = _sequence(engine, name="chat", trigger_event="cart", exit_on_reply=True)
    with session(engine, write=True) as s:
        started = events.record_event(s, "cart", number=NUMBER, now=T0, region="NL", default_time_zone="UTC")
        assert len(started.enrolled) == 2
        ended = events.record_event(s, "purchase", number=NUMBER, now=T0 + timedelta(minutes=1), region="NL",
                                    default_time_zone="UTC")  # fmt: skip
        assert ended.exited == 1
        assert sequences.exit_enrollments(s, NUMBER, "reply", now=T0, sequence_ids=[quiet]) == 1
        s.commit()
    assert sequences.run_due(engine, now=T0 + timedelta(days=1), public_url=PUBLIC) == 0
    with session(engine) as s:
        reasons = sorted(e.exit_reason for e in s.exec(select(Enrollment)))
    assert reasons == ["event:purchase", "reply"]


def test_joining_the_trigger_list_enrolls_the_contact_once(engine):
    with session(engine, write=True) as s:
        vip = contacts.create_list(s, "vip", now=T0)
        s.commit()
    _sequence(engine, trigger_list_id=vip.id)
    with session(engine, write=True) as s:
        contact = _contact(s)
        contacts.add_members(s, vip.id, [contact.id], now=T0 + timedelta(seconds=5))
        assert sequences.enroll_list_joins(s, now=T0 + timedelta(seconds=10)) == 1
        assert sequences.enroll_list_joins(s, now=T0 + timedelta(seconds=20)) == 0
        s.commit()
    assert sequences.run_due(engine, now=T0 + timedelta(seconds=20), public_url="") == 1


def test_a_marketing_step_due_at_night_waits_for_the_send_window(engine):
    _sequence(engine, trigger_event="go")  # marketing by default
    night = T0.replace(hour=23)  # midnight in Amsterdam
    with session(engine, write=True) as s:
        contact = _contact(s)
        consent.record_consent(s, NUMBER, "opt_in", source="form", now=T0, contact_id=contact.id)
        events.record_event(s, "go", number=NUMBER, now=night, region="NL", default_time_zone="UTC")
        s.commit()
    sequences.run_due(engine, now=night, public_url="")
    policy = CompliancePolicy(Rules("10:00", "20:00"))
    with engine.begin() as conn:
        row = conn.execute(sa.select(Message.id, Message.recipient, Message.category, Message.campaign_id)).one()
        decision = policy.screen(conn, row, now=night)
    assert decision.action == "defer" and decision.until == T0.replace(hour=9) + timedelta(days=1)  # 10:00 local
