"""Privacy: a contact's timeline, its export, and erasure that keeps an opt-out in force."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from gateway.audience.consent import ConsentSettings, handle_inbound, may_send, number_hash, record_consent
from gateway.audience.contacts import contact_data, create_contact, import_contacts
from gateway.audience.privacy import erase, export, timeline
from gateway.core.errors import InvalidInput, NotFound
from gateway.core.models import ConsentRecord, Contact, DeliveryReport, InboundMessage, Message, Part, Suppression
from tests.support.clock import T0

NUMBER = "+31612345678"


def _contact(s, number=NUMBER):
    return create_contact(
        s, contact_data({"number": number, "first_name": "Anna"}, region="NL"), now=T0, default_time_zone="UTC"
    )


def _message(s, status, at, number=NUMBER):
    """A one-part message as the outbox stores it, in `status`."""
    message = Message(
        request_hash="x",
        recipient=number,
        text=f"hello {status}",
        encoding="gsm7",
        status=status,
        parts_total=1,
        next_attempt_at=at,
        valid_until=at + timedelta(days=2),
        created_at=at,
        updated_at=at,
    )
    s.add(message)
    s.add(
        Part(message_id=message.id, seq=1, pdu="00", tpdu_length=1, status="pending" if status == "queued" else status)
    )
    s.flush()
    return message


def _inbound(s, text, at, number=NUMBER):
    row = InboundMessage(
        modem_id="sim1", sender=number, text=text, parts_total=1, parts_received=1, complete=True, received_at=at
    )
    s.add(row)
    s.flush()
    return row


def _report(s, message, at):
    part = s.exec(select(Part).where(Part.message_id == message.id)).one()
    row = DeliveryReport(
        modem_id="sim1",
        message_reference=1,
        recipient=NUMBER,
        tp_status=0,
        category="delivered",
        received_at=at,
        pdu="00",
        part_id=part.id,
    )
    s.add(row)
    s.flush()
    return row


def test_erasing_an_opted_out_contact_keeps_only_the_hash_and_it_stays_opted_out(s):
    contact = _contact(s)
    stop = _inbound(s, "STOP", T0)
    handle_inbound(s, NUMBER, stop.text, settings=ConsentSettings(), now=T0, source_message_id=stop.id)
    s.commit()
    done = erase(s, contact.id, now=T0 + timedelta(days=1))
    s.commit()
    assert (done.suppression_reason, done.consent_records, done.inbound_messages) == ("stop", 1, 1)
    suppression = s.exec(select(Suppression)).one()
    assert (suppression.number, suppression.number_hash, suppression.reason) == (None, number_hash(NUMBER), "stop")
    assert NUMBER not in repr(s.exec(select(Suppression)).all())
    assert s.exec(select(Contact)).all() == [] and s.exec(select(ConsentRecord)).all() == []
    # Imported again from some old spreadsheet: still nothing goes out.
    import_contacts(s, [{"number": NUMBER}], region="NL", default_time_zone="UTC", now=T0 + timedelta(days=2))
    record_consent(s, NUMBER, "opt_in", source="import", now=T0 + timedelta(days=2))
    s.commit()
    for category in ("transactional", "marketing"):
        assert may_send(s, NUMBER, category).reason == "opted_out"


def test_erasing_a_contact_that_never_opted_out_suppresses_it_as_erased(s):
    contact = _contact(s)
    record_consent(s, NUMBER, "opt_in", source="web_form", now=T0)
    done = erase(s, contact.id, now=T0)
    assert done.suppression_reason == "erased"
    assert may_send(s, NUMBER, "marketing").detail == "erased"


def test_erase_deletes_finished_messages_and_reports_and_leaves_queued_ones_to_finish(s):
    contact = _contact(s)
    delivered = _message(s, "delivered", T0)
    _report(s, delivered, T0 + timedelta(seconds=5))
    _message(s, "failed", T0 + timedelta(seconds=1))
    queued = _message(s, "queued", T0 + timedelta(seconds=2))
    other = _message(s, "delivered", T0, number="+31612345679")
    s.commit()
    done = erase(s, contact.id, now=T0)
    s.commit()
    assert (done.messages, done.delivery_reports, done.messages_in_flight) == (2, 1, 1)
    assert sorted(s.exec(select(Message.id))) == sorted([queued.id, other.id])
    assert s.exec(select(DeliveryReport)).all() == []
    # The queued one now meets the suppression when it is claimed.
    assert not may_send(s, NUMBER, "transactional").allowed


def test_export_holds_the_contact_its_consent_and_its_messages_both_ways(s):
    contact = _contact(s)
    message = _message(s, "queued", T0)
    record_consent(s, NUMBER, "opt_in", source="web_form", proof="Yes", ip="192.0.2.7", now=T0)
    _inbound(s, "Thanks!", T0 + timedelta(minutes=1))
    s.commit()
    data = export(s, contact.id)
    assert data["contact"]["number"] == NUMBER and data["contact"]["first_name"] == "Anna"
    assert [(c["kind"], c["ip"]) for c in data["consent"]] == [("opt_in", "192.0.2.7")]
    assert [m["id"] for m in data["messages"]] == [message.id] and len(data["messages"][0]["parts"]) == 1
    assert [i["text"] for i in data["inbound_messages"]] == ["Thanks!"]
    assert data["opt_out"] is None
    with pytest.raises(NotFound):
        export(s, contact.id + 1)


def test_the_timeline_pages_through_every_event_once_newest_first_also_on_ties(s):
    contact = _contact(s)  # at T0
    same = T0 + timedelta(minutes=1)
    for _ in range(3):  # several events in one instant, of several types
        _message(s, "delivered", same)
        _inbound(s, "hi", same)
        record_consent(s, NUMBER, "opt_in", source="form", now=same)
    later = _message(s, "delivered", T0 + timedelta(minutes=2))
    _report(s, later, T0 + timedelta(minutes=3))
    _message(s, "queued", T0, number="+31612345679")  # someone else's
    s.commit()
    seen, after = [], None
    while True:
        page = timeline(s, contact.id, limit=4, after=after)
        seen += page
        if len(page) < 4:
            break
        after = (page[-1].at, page[-1].key)
    assert len(seen) == 1 + 9 + 1 + 1 and len({e.key for e in seen}) == len(seen)
    assert [e.at for e in seen] == sorted((e.at for e in seen), reverse=True)
    assert [e.type for e in seen[:2]] == ["delivery_report", "message"] and seen[-1].type == "contact"
    with pytest.raises(InvalidInput):
        timeline(s, contact.id, limit=4, after=(T0, "bogus:1"))
