"""Delivery reports are stored, matched to the right part and reflected in the message."""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from drivers.sms import decode_pdu, encode_status_report
from gateway.core.db import session
from gateway.core.models import DeliveryReport, Message, Part, Webhook, WebhookDelivery
from gateway.core.reports import rematch, store_report
from tests.support.rows import T0, sent_message


def report(mr: int, recipient: str, *, scts, status: int = 0, delay: float = 30.0):
    pdu = encode_status_report(
        mr, recipient, timestamp=scts, discharge_time=scts + timedelta(seconds=delay), status=status
    )
    return decode_pdu(pdu), pdu


def test_reports_for_more_than_256_parts_delayed_and_shuffled_reach_the_right_parts(engine):
    recipients = ["+31612345678", "+31687654321"]
    expected = {}
    for i in range(300):
        at = T0 + timedelta(seconds=2 * i)
        _, (pid,) = sent_message(engine, recipient=recipients[i % 2], parts=[("m1", i % 256, at)])
        expected[pid] = (i % 256, recipients[i % 2], at)
    order = list(expected.items())
    random.Random(3).shuffle(order)
    for pid, (mr, recipient, at) in order:
        sms, pdu = report(mr, recipient, scts=at + timedelta(seconds=random.uniform(-5, 5)))
        row = store_report(engine, "m1", sms, pdu, now=at + timedelta(minutes=20))
        assert row.part_id == pid
    with session(engine) as s:
        assert s.exec(select(sa.func.count()).select_from(Message).where(Message.status == "delivered")).one() == 300


def test_report_arriving_before_the_mr_commit_is_attached_afterwards(engine):
    mid, (pid,) = sent_message(engine, recipient="+31612345678", parts=[("m1", None, None)], status="sending")
    sms, pdu = report(7, "+31612345678", scts=T0)
    row = store_report(engine, "m1", sms, pdu, now=T0 + timedelta(seconds=1))
    assert row.part_id is None  # stored, visible, unmatched
    with session(engine) as s:
        part = s.get(Part, pid)
        part.message_reference, part.submitted_at, part.status = 7, T0, "sent"
        s.add(part)
        message = s.get(Message, mid)
        message.status = "sent"
        s.add(message)
        s.commit()
    assert rematch(engine, "m1", 7, now=T0 + timedelta(seconds=2)) == 1
    with session(engine) as s:
        assert s.get(DeliveryReport, row.id).part_id == pid
        assert s.get(Part, pid).status == "delivered"
        assert s.get(Message, mid).status == "delivered"


def test_multipart_message_is_delivered_only_when_every_part_is(engine):
    mid, _ = sent_message(engine, recipient="+31612345678", parts=[("m1", 1, T0), ("m1", 2, T0 + timedelta(seconds=1))])
    sms, pdu = report(1, "+31612345678", scts=T0)
    store_report(engine, "m1", sms, pdu, now=T0 + timedelta(minutes=1))
    with session(engine) as s:
        assert s.get(Message, mid).status == "sent"
    sms, pdu = report(2, "+31612345678", scts=T0 + timedelta(seconds=1))
    store_report(engine, "m1", sms, pdu, now=T0 + timedelta(minutes=1))
    with session(engine) as s:
        assert s.get(Message, mid).status == "delivered"


def test_failed_report_fails_the_message_and_queues_webhook_events(engine):
    with session(engine) as s:
        s.add(Webhook(url="http://127.0.0.1:9/hook", secret="s", events="message.status,delivery_report"))
        s.commit()
    mid, (_,) = sent_message(engine, recipient="+31612345678", parts=[("m1", 9, T0)])
    sms, pdu = report(9, "+31612345678", scts=T0, status=0x41)
    store_report(engine, "m1", sms, pdu, now=T0 + timedelta(minutes=1))
    with session(engine) as s:
        message = s.get(Message, mid)
        assert message.status == "failed"
        assert "0x41" in message.last_error
        events = sorted(d.event for d in s.exec(select(WebhookDelivery)).all())
        assert events == ["delivery_report", "message.status"]


def test_pending_report_keeps_the_part_sent(engine):
    mid, (pid,) = sent_message(engine, recipient="+31612345678", parts=[("m1", 3, T0)])
    sms, pdu = report(3, "+31612345678", scts=T0, status=0x30)
    store_report(engine, "m1", sms, pdu, now=T0 + timedelta(minutes=1))
    with session(engine) as s:
        assert s.get(Part, pid).status == "sent"
        assert s.get(Part, pid).report_status == 0x30
        assert s.get(Message, mid).status == "sent"


def test_report_for_unknown_part_is_kept_unmatched(engine):
    sms, pdu = report(200, "+31600000000", scts=T0)
    row = store_report(engine, "m9", sms, pdu, now=T0)
    with session(engine) as s:
        stored = s.get(DeliveryReport, row.id)
        assert stored.part_id is None and stored.pdu == pdu and stored.category == "delivered"
