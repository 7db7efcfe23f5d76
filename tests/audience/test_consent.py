"""Consent: what may be sent to whom, and what STOP / START / HELP by SMS do."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from gateway.audience import consent
from gateway.audience.consent import ConsentSettings, handle_inbound, may_send, record_consent
from gateway.audience.contacts import contact_data, create_contact
from gateway.audience.privacy import erase
from gateway.core.errors import InvalidInput, NotFound
from gateway.core.models import ConsentRecord, Suppression, Webhook, WebhookDelivery
from tests.support.clock import T0

NUMBER = "+31612345678"
SETTINGS = ConsentSettings()


def _stop(s, text="STOP", number=NUMBER, at=T0):
    return handle_inbound(s, number, text, settings=SETTINGS, now=at)


def _opt_in(s, at=T0):
    record_consent(s, NUMBER, "opt_in", source="web_form", proof="Yes please", now=at)


def _opt_out(s, at=T0):
    record_consent(s, NUMBER, "opt_out", source="web_form", now=at)


def _erase(s, at=T0):
    contact = create_contact(s, contact_data({"number": NUMBER}, region="NL"), now=T0, default_time_zone="UTC")
    erase(s, contact.id, now=at)


def _start(s, at=T0):
    _stop(s, "START", at=at)


# Every state a number can be in, each step a minute after the one before.
STATES = {
    "nothing": [],
    "opted in": [_opt_in],
    "opted in, then out": [_opt_in, _opt_out],
    "opted out, then in": [_opt_out, _opt_in],
    "STOP": [_stop],
    "opted in, then STOP": [_opt_in, _stop],
    "STOP, then START": [_stop, _start],
    "STOP, then opted in by API": [_stop, _opt_in],
    "erased": [_erase],
    "opted in, STOP, erased": [_opt_in, _stop, _erase],
}
EXPECTED = {  # state: (transactional, marketing)
    "nothing": ("ok", "no_consent"),
    "opted in": ("ok", "ok"),
    "opted in, then out": ("ok", "consent_withdrawn"),
    "opted out, then in": ("ok", "ok"),
    "STOP": ("opted_out", "opted_out"),
    "opted in, then STOP": ("opted_out", "opted_out"),
    "STOP, then START": ("ok", "ok"),  # texting START is asking for messages
    "STOP, then opted in by API": ("opted_out", "opted_out"),  # an opt-in does not undo a STOP
    "erased": ("opted_out", "opted_out"),
    "opted in, STOP, erased": ("opted_out", "opted_out"),
}


@pytest.mark.parametrize("state", list(STATES))
def test_may_send_matrix(s, state):
    for minute, step in enumerate(STATES[state]):
        step(s, at=T0 + timedelta(minutes=minute))
    s.commit()
    verdicts = (may_send(s, NUMBER, "transactional"), may_send(s, NUMBER, "marketing"))
    assert tuple(v.reason for v in verdicts) == EXPECTED[state]
    assert tuple(v.allowed for v in verdicts) == tuple(r == "ok" for r in EXPECTED[state])
    # Another number is not affected by any of it.
    assert may_send(s, "+31612345679", "transactional").allowed


def test_stop_stops_transactional_too_unless_the_setting_says_otherwise(s):
    _stop(s)
    s.commit()
    assert not may_send(s, NUMBER, "transactional").allowed  # the default
    assert may_send(s, NUMBER, "transactional", stop_transactional=False).allowed
    assert may_send(s, NUMBER, "marketing", stop_transactional=False).reason == "opted_out"


def test_the_stop_transactional_setting_reaches_the_claim_policy() -> None:
    from gateway.campaigns.wiring import marketing_rules
    from gateway.core.consentsettings import ConsentSettings
    from gateway.core.settings import Settings

    assert marketing_rules(Settings()).stop_transactional is True
    off = Settings(consent=ConsentSettings(stop_transactional=False))
    assert marketing_rules(off).stop_transactional is False


def test_may_send_says_why_a_number_is_suppressed_and_refuses_unknown_categories(s):
    _stop(s)
    assert may_send(s, NUMBER, "marketing").detail == "stop"
    with pytest.raises(InvalidInput):
        may_send(s, NUMBER, "promotional")


def test_may_send_works_on_a_plain_connection(engine):
    with engine.begin() as conn:
        assert may_send(conn, NUMBER, "marketing").reason == "no_consent"


@pytest.fixture
def hook(s):
    """A webhook subscribed to both consent events."""
    row = Webhook(url="https://example.test/hook", secret="whsec_" + "x" * 20, events="optout,optin")
    s.add(row)
    s.commit()
    return row


def _events(s):
    return [
        (d.event, json.loads(d.payload)["data"]) for d in s.exec(select(WebhookDelivery).order_by(WebhookDelivery.id))
    ]


def test_stop_suppresses_records_queues_optout_and_confirms_once(s, hook):
    first = _stop(s, "Stop!")
    s.commit()
    assert first is not None and first.changed and first.event == "optout"
    assert first.reply == SETTINGS.reply("stop", "en")
    again = _stop(s, "stop", at=T0 + timedelta(minutes=5))
    s.commit()
    assert again is not None and (again.changed, again.reply, again.event) == (False, None, None)
    events = _events(s)
    assert [e for e, _ in events] == ["optout"]
    assert events[0][1]["number"] == NUMBER and events[0][1]["keyword"] == "STOP"
    suppression = s.exec(select(Suppression)).one()
    assert (suppression.number, suppression.reason) == (NUMBER, "stop")
    # Both STOPs are evidence in the ledger.
    assert [(r.kind, r.proof) for r in consent.consent_history(s, NUMBER)] == [
        ("opt_out", "Stop!"),
        ("opt_out", "stop"),
    ]


def test_start_lifts_the_stop_confirms_once_and_queues_optin(s, hook):
    _stop(s)
    start = handle_inbound(s, NUMBER, "start", settings=SETTINGS, now=T0 + timedelta(minutes=1))
    again = handle_inbound(s, NUMBER, "UNSTOP", settings=SETTINGS, now=T0 + timedelta(minutes=2))
    s.commit()
    assert start is not None and (start.changed, start.event) == (True, "optin") and start.reply
    assert again is not None and (again.changed, again.reply) == (False, None)
    assert s.exec(select(Suppression)).all() == []
    assert [e for e, _ in _events(s)] == ["optout", "optin"]
    # Texting STOP after START is news again, and confirmed again.
    stop = _stop(s, at=T0 + timedelta(minutes=3))
    assert stop is not None and stop.reply is not None


def test_help_is_answered_every_time_even_when_opted_out(s, hook):
    _stop(s)
    for _ in range(2):
        action = handle_inbound(s, NUMBER, "HELP", settings=SETTINGS, now=T0)
        assert action is not None and action.reply == SETTINGS.reply("help", "en") and not action.changed
    assert [e for e, _ in _events(s)] == ["optout"]


def test_an_ordinary_message_changes_nothing(s, hook):
    assert handle_inbound(s, NUMBER, "please stop by the shop", settings=SETTINGS, now=T0) is None
    s.commit()
    assert s.exec(select(ConsentRecord)).all() == [] and s.exec(select(Suppression)).all() == [] and _events(s) == []


def test_a_sender_is_read_in_e164_or_in_the_given_region_and_an_alphanumeric_one_is_ignored(s):
    action = handle_inbound(s, "0612345678", "STOP", settings=SETTINGS, now=T0, region="NL")
    assert action is not None and action.number == NUMBER
    assert handle_inbound(s, "Vodafone", "STOP", settings=SETTINGS, now=T0) is None
    # A number the numbering plan does not know, as the network gave it, still opts out.
    odd = handle_inbound(s, "+999123456", "STOP", settings=SETTINGS, now=T0)
    assert odd is not None and not may_send(s, "+999123456", "transactional").allowed


def test_a_stop_from_a_contact_is_linked_to_it(s):
    contact = create_contact(s, contact_data({"number": NUMBER}, region="NL"), now=T0, default_time_zone="UTC")
    _stop(s)
    assert s.exec(select(ConsentRecord.contact_id)).one() == contact.id


def test_opt_outs_by_api_and_import(s, hook):
    row, created = consent.add_opt_out(s, "06 1234 5678", region="NL", now=T0)
    assert created and row.reason == "manual"
    _, again = consent.add_opt_out(s, NUMBER, region="NL", now=T0)
    assert not again
    result = consent.import_opt_outs(s, ["+31612345601", "rubbish", None, NUMBER, "0612345602"], region="NL", now=T0)
    assert (result.added, result.existing) == (2, 1)
    assert [(e.row, e.field) for e in result.errors] == [(2, "number"), (3, "number")]
    s.commit()
    assert [e for e, _ in _events(s)] == ["optout"]  # the importer knows its own numbers
    consent.remove_opt_out(s, "0612345678", region="NL", now=T0)
    assert may_send(s, NUMBER, "transactional").allowed
    assert may_send(s, NUMBER, "marketing").reason == "consent_withdrawn"  # a new opt-in is needed
    with pytest.raises(NotFound):
        consent.remove_opt_out(s, NUMBER, region="NL", now=T0)


def test_two_inserts_of_one_number_leave_one_entry(s):
    _, first = consent.suppress(s, NUMBER, reason="stop", now=T0)
    _, second = consent.suppress(s, NUMBER, reason="manual", now=T0)
    s.commit()
    assert (first, second) == (True, False)
    assert len(s.exec(select(Suppression)).all()) == 1


def test_a_stop_is_lifted_by_hand_only_with_a_reason_and_new_consent_both_kept_in_the_ledger(s, hook):
    _opt_in(s)
    _stop(s, at=T0 + timedelta(minutes=1))
    s.commit()
    with pytest.raises(InvalidInput) as refused:
        consent.remove_opt_out(s, NUMBER, region="NL", now=T0 + timedelta(minutes=2))
    assert refused.value.field == "reason" and "STOP" in str(refused.value)
    assert not may_send(s, NUMBER, "transactional").allowed

    removal = consent.OptOutRemoval("re-subscribed at the counter", "paper_form", "signed form 117", "192.0.2.7")
    consent.remove_opt_out(s, "0612345678", region="NL", now=T0 + timedelta(minutes=3), removal=removal)
    s.commit()
    assert may_send(s, NUMBER, "marketing").allowed
    ledger = [(r.kind, r.source, r.proof, r.reason) for r in consent.consent_history(s, NUMBER)]
    assert ledger == [
        ("opt_in", "web_form", "Yes please", None),
        ("opt_out", "keyword", "STOP", None),
        ("opt_in", "paper_form", "signed form 117", "re-subscribed at the counter"),
    ]
    assert [e for e, _ in _events(s)] == ["optout", "optin"]


def test_replies_come_in_the_contacts_language_whatever_word_they_sent(s):
    create_contact(s, contact_data({"number": NUMBER, "locale": "nl-NL"}, region="NL"), now=T0, default_time_zone="UTC")
    stop = _stop(s, "STOP")  # an English word from a Dutch contact
    s.commit()
    assert stop is not None and (stop.language, stop.reply) == ("nl", SETTINGS.reply("stop", "nl"))
    help_ = handle_inbound(s, NUMBER, "HELP", settings=SETTINGS, now=T0)
    assert help_ is not None and help_.reply == SETTINGS.reply("help", "nl")


def test_a_locale_without_replies_answers_in_the_words_language(s):
    create_contact(s, contact_data({"number": NUMBER, "locale": "tr"}, region="NL"), now=T0, default_time_zone="UTC")
    stop = _stop(s, "BAJA")  # Spanish word; no Turkish replies configured
    assert stop is not None and stop.reply == SETTINGS.reply("stop", "es")


def test_contact_locales_are_bcp47_tags() -> None:
    assert contact_data({"number": NUMBER, "locale": "pt_br"}, region="NL").locale == "pt-BR"
    assert contact_data({"number": NUMBER, "locale": "zh-hant-tw"}, region="NL").locale == "zh-Hant-TW"
    with pytest.raises(InvalidInput, match="BCP 47"):
        contact_data({"number": NUMBER, "locale": "not a language"}, region="NL")


def test_start_from_an_unknown_number_creates_the_contact_and_welcomes_rather_than_resubscribes(s, hook):
    action = handle_inbound(s, NUMBER, "Start", settings=SETTINGS, now=T0)
    s.commit()
    assert action is not None and action.changed and action.reply is not None
    assert "again" not in action.reply.casefold()
    assert action.reply == SETTINGS.reply("welcome", "en")
    contact = consent.find_contact(s, NUMBER)
    assert contact is not None and contact.created_at == T0
    record = s.exec(select(ConsentRecord)).one()
    assert (record.kind, record.proof, record.contact_id) == ("opt_in", "Start", contact.id)
    # Someone who stopped and comes back is subscribed again, and told so.
    _stop(s, at=T0 + timedelta(minutes=1))
    back = handle_inbound(s, NUMBER, "START", settings=SETTINGS, now=T0 + timedelta(minutes=2))
    assert back is not None and back.reply == SETTINGS.reply("start", "en")
