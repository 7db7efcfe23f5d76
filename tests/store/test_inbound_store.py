"""Received messages are stored as received and concatenated ones reassembled."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from drivers.sms import decode_pdu, encode_deliver
from gateway.core.db import session
from gateway.core.inbound import flag_incomplete, store_inbound, store_undecodable
from gateway.core.models import InboundMessage, InboundPart
from tests.support.rows import T0

LONG = "Grüße aus Utrecht 😀 " * 12


def parts(text: str, sender: str = "+31699999999", ref: int = 42):
    return [(decode_pdu(p), p) for p in encode_deliver(sender, text, timestamp=T0, ref=ref)]


def test_single_message_is_complete_at_once(engine):
    ((sms, pdu),) = parts("STOP")
    message = store_inbound(engine, "m1", sms, pdu, now=T0)
    assert (message.complete, message.text, message.sender) == (True, "STOP", "+31699999999")


def test_concatenated_parts_in_any_order_make_one_message(engine):
    pieces = parts(LONG)
    assert len(pieces) >= 3
    for sms, pdu in reversed(pieces):
        message = store_inbound(engine, "m1", sms, pdu, now=T0)
    assert message.complete and message.text == LONG
    with session(engine) as s:
        assert len(s.exec(select(InboundMessage)).all()) == 1
        assert len(s.exec(select(InboundPart)).all()) == len(pieces)


def test_a_part_received_twice_is_kept_but_counted_once(engine):
    pieces = parts(LONG)
    store_inbound(engine, "m1", *pieces[0], now=T0)
    message = store_inbound(engine, "m1", *pieces[0], now=T0)
    assert message.parts_received == 1 and not message.complete
    for sms, pdu in pieces[1:]:
        message = store_inbound(engine, "m1", sms, pdu, now=T0)
    assert message.complete and message.text == LONG


def test_same_reference_from_two_senders_stays_apart(engine):
    a, b = parts(LONG, sender="+31611111111"), parts(LONG.upper(), sender="+31622222222")
    for (sa_, pa), (sb, pb) in zip(a, b, strict=True):
        store_inbound(engine, "m1", sa_, pa, now=T0)
        store_inbound(engine, "m1", sb, pb, now=T0)
    with session(engine) as s:
        texts = sorted(m.text for m in s.exec(select(InboundMessage)).all())
    assert texts == sorted([LONG, LONG.upper()])


def test_missing_part_is_flagged_after_the_timeout_with_what_arrived(engine):
    pieces = parts(LONG)
    store_inbound(engine, "m1", *pieces[0], now=T0)
    store_inbound(engine, "m1", *pieces[2], now=T0)
    assert flag_incomplete(engine, now=T0 + timedelta(hours=1)) == 0
    assert flag_incomplete(engine, now=T0 + timedelta(hours=25)) == 1
    with session(engine) as s:
        message = s.exec(select(InboundMessage)).one()
    assert message.flagged_at is not None and not message.complete
    assert message.text.startswith(pieces[0][0].text) and "[…]" in message.text


def test_undecodable_pdu_is_kept_with_its_reason(engine):
    message = store_undecodable(engine, "m1", "07FFFF", "PDU ends early (at octet 3)", now=T0)
    assert "undecodable" in message.text and "07FFFF" in message.text


def test_nul_character_in_a_ucs2_message_is_stored_on_every_database(engine):
    ((sms, pdu),) = [
        (decode_pdu(p), p) for p in encode_deliver("+31699999999", "a\x00b", timestamp=T0, encoding="ucs2")
    ]
    message = store_inbound(engine, "m1", sms, pdu, now=T0)
    assert message.text == "a\ufffdb"
    with session(engine) as s:
        assert s.exec(select(InboundPart)).one().pdu == pdu
