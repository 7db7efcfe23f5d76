"""What an inbound message does (gateway.automation.inbound), in the transaction that stores it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from gateway.audience import consent, contacts, privacy
from gateway.audience.keywords import ConsentSettings
from gateway.automation import autoreply, conversations, inbound, keywords, sequences, surveys
from gateway.core.db import session
from gateway.core.errors import InvalidInput
from gateway.core.models import (
    AutoReplySent,
    Contact,
    Enrollment,
    InboundMessage,
    Message,
    StepSend,
    SurveyAnswer,
    SurveySession,
    Webhook,
    WebhookDelivery,
)
from gateway.core.settings import Settings
from tests.support.clock import T0

NUMBER = "+31612345678"
SETTINGS = Settings(database_url="sqlite://", public_url="https://go.example")


@pytest.fixture
def s(engine):
    with session(engine, write=True) as db:
        db.add(Webhook(url="https://hooks.example/x", secret="whsec_test", events=",".join((
            "keyword.matched", "survey.answered", "sequence.step_sent", "sequence.exited"))))  # fmt: skip
        db.flush()
        yield db


def _in(s, text, *, sender=NUMBER, modem="sim1", at=T0):
    message = InboundMessage(modem_id=modem, sender=sender, text=text, complete=True, parts_received=1, received_at=at)
    s.add(message)
    s.flush()
    queued = inbound.handle(SETTINGS, s, message, at)
    return [s.get(Message, i).text for i in queued]


def _events(s):
    return [
        (d.event, json.loads(d.payload)["data"]) for d in s.exec(select(WebhookDelivery).order_by(WebhookDelivery.id))
    ]


def _rule(s, word, **options):
    return keywords.create_rule(s, keywords.RuleSpec(word, **options), now=T0, consent_settings=ConsentSettings())


def test_keywords_ignore_case_and_punctuation_and_the_modem_own_rule_wins(s):
    _rule(s, "PROMO", reply="Everyone's promo")
    _rule(s, "Promo", reply="Shop two promo", modem_id="sim2")
    assert _in(s, " promo! ", modem="sim1") == ["Everyone's promo"]
    assert _in(s, "P.R.O.M.O", modem="sim2") == ["Shop two promo"]
    assert _in(s, "promo code please") == []  # a sentence is not a keyword
    assert [e for e, _ in _events(s)] == ["keyword.matched", "keyword.matched"]


def test_built_in_words_cannot_be_custom_and_stop_still_wins(s):
    with pytest.raises(InvalidInput):
        _rule(s, "Stop")
    with pytest.raises(InvalidInput):
        _rule(s, "aanmelden")  # START in Dutch
    assert _in(s, "STOP")[0].startswith("You are unsubscribed")


def test_keyword_actions_create_the_contact_record_consent_and_change_lists_and_fields(s):
    club = contacts.create_list(s, "club", now=T0)
    old = contacts.create_list(s, "leads", now=T0)
    _rule(s, "CLUB", reply="Hi {{first_name|there}}, you're in ({{source}})", actions=[
        {"type": "opt_in"}, {"type": "list_add", "list_id": club.id}, {"type": "list_remove", "list_id": old.id},
        {"type": "set_field", "field": "source", "value": "poster"}])  # fmt: skip
    assert _in(s, "club") == ["Hi there, you're in (poster)"]
    contact = s.exec(select(Contact)).one()
    assert contacts.list_ids_of(s, contact.id) == [club.id] and contact.custom_fields == {"source": "poster"}
    (record,) = consent.consent_history(s, NUMBER)
    assert (record.kind, record.source, record.proof) == ("opt_in", "keyword:CLUB", "club")


def test_double_opt_in_records_consent_only_after_yes(s):
    _rule(s, "JOIN", actions=[{"type": "opt_in"}], reply="Welcome!", double_opt_in=True)
    assert _in(s, "join") == [keywords.DEFAULT_CONFIRM_PROMPT]
    assert consent.consent_state(s, NUMBER) is None
    assert _in(s, "Yes!", at=T0 + timedelta(minutes=5)) == ["Welcome!"]
    (record,) = consent.consent_history(s, NUMBER)
    assert record.proof == "join / Yes!"
    assert _in(s, "yes", at=T0 + timedelta(minutes=6)) == []  # confirmed once


def test_double_opt_in_asks_in_the_keyword_language(s):
    _rule(s, "DOEMEE", language="nl", actions=[{"type": "opt_in"}], double_opt_in=True)
    assert _in(s, "doe mee")[0].startswith("Antwoord JA")
    _in(s, "ja")
    assert consent.consent_state(s, NUMBER) == "opt_in"


def test_a_keyword_starting_a_sequence_sends_its_first_step_at_once_and_announces_it(s):
    seq = sequences.create_sequence(
        s, sequences.SequenceSpec("welcome", [sequences.StepSpec(0, "Welcome! https://shop.example/new"),
                                              sequences.StepSpec(86_400, "Day two")]), now=T0,
    )  # fmt: skip
    _rule(s, "HELLO", reply="Hi!", actions=[{"type": "opt_in"}, {"type": "start_sequence", "sequence_id": seq.id}])
    texts = _in(s, "hello")
    assert texts[0] == "Hi!" and texts[1].startswith("Welcome! https://go.example/r/")
    assert _in(s, "hello") == ["Hi!"]  # already in the sequence: its place is kept, no second welcome
    assert [(e, d.get("step")) for e, d in _events(s) if e.startswith("sequence")] == [("sequence.step_sent", 1)]


def test_stop_ends_sequences_and_survey_questions(s):
    contact = contacts.create_contact(s, contacts.ContactData(NUMBER), now=T0, default_time_zone="UTC")
    seq = sequences.create_sequence(s, sequences.SequenceSpec("d", [sequences.StepSpec(60, "later")]), now=T0)
    sequences.enroll(s, seq.id, contact, now=T0)
    poll = surveys.create_survey(s, surveys.SurveySpec("p", [surveys.QuestionSpec("Tea?", ["Yes", "No"])]), now=T0)
    surveys.start(s, poll.id, contact, now=T0)
    _in(s, "stop")
    assert _in(s, "1") == []  # the question was closed by STOP
    assert [d["reason"] for e, d in _events(s) if e == "sequence.exited"] == ["stop"]


def test_survey_answers_are_normalised_reprompted_once_and_expire(s):
    contact = contacts.create_contact(s, contacts.ContactData(NUMBER), now=T0, default_time_zone="UTC")
    poll = surveys.create_survey(
        s, surveys.SurveySpec("p", [surveys.QuestionSpec("Ok?", [{"key": "YES", "label": "Yes"}, {"key": "NO", "label": "No"}]),
                                    surveys.QuestionSpec("Colour?", ["Red", "Blue"])], window_seconds=600), now=T0,
    )  # fmt: skip
    surveys.start(s, poll.id, contact, now=T0)
    assert _in(s, "maybe") == ["Sorry, that is not one of the choices. Ok? (Yes/No)"]
    assert _in(s, "Ja") == ["Colour?\n1) Red\n2) Blue"]
    assert _in(s, "B", at=T0 + timedelta(minutes=11)) == []  # after the window
    assert surveys.results(s, poll.id)["questions"][0]["choices"] == [
        {"key": "YES", "label": "Yes", "count": 1}, {"key": "NO", "label": "No", "count": 0}]  # fmt: skip
    assert [d["choice"] for e, d in _events(s) if e == "survey.answered"] == ["YES"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2", "2"), ("b", "2"), ("Blue", "2"), (" BLUE!! ", "2"), ("r", None), ("3", None), ("", None), ("🙂", None)],
)
def test_match_choice(text, expected):
    assert surveys.match_choice([{"key": "1", "label": "Red"}, {"key": "2", "label": "Blue"}], text) == expected


def test_auto_reply_only_outside_business_hours_and_never_to_machines(s):
    autoreply.create_rule(s, autoreply.RuleSpec("closed", "Closed now, back at 9.", hours_start="09:00",
                                                hours_end="17:00", time_zone="Europe/Amsterdam"), now=T0)  # fmt: skip
    assert _in(s, "hi", at=T0) == []  # 10:00 in Amsterdam: open, a person answers
    evening = T0.replace(hour=19)
    assert _in(s, "hi", sender="INFO", at=evening) == []
    assert _in(s, "hi", sender="4411", at=evening) == []
    assert _in(s, "hi", at=evening) == ["Closed now, back at 9."]
    assert _in(s, "hi again", at=evening + timedelta(minutes=1)) == []  # one per day by default


def test_erasing_a_contact_forgets_what_automation_kept_of_it(s):
    contact = contacts.create_contact(s, contacts.ContactData(NUMBER), now=T0, default_time_zone="UTC")
    seq = sequences.create_sequence(s, sequences.SequenceSpec("d", [sequences.StepSpec(0, "now")]), now=T0)
    sequences.enroll(s, seq.id, contact, now=T0)
    sequences.queue_due(s, now=T0, public_url="")
    poll = surveys.create_survey(s, surveys.SurveySpec("p", [surveys.QuestionSpec("Why?")]), now=T0)
    surveys.start(s, poll.id, contact, now=T0)
    _in(s, "because")
    autoreply.create_rule(s, autoreply.RuleSpec("any", "Thanks"), now=T0)
    _in(s, "hello?")
    privacy.erase(s, contact.id, now=T0)
    for table in (Enrollment, StepSend, SurveySession, SurveyAnswer, AutoReplySent):
        assert s.exec(select(table)).all() == [], table.__name__


def test_conversations_group_by_number_in_order_with_unread_counts(s):
    _in(s, "first", at=T0)
    _in(s, "second", at=T0 + timedelta(minutes=1))
    _in(s, "hi", sender="+31687654321", at=T0 + timedelta(minutes=2))
    assert [(c.number, c.unread, c.last_text) for c in conversations.summaries(s)] == [
        ("+31687654321", 1, "hi"), (NUMBER, 2, "second")]  # fmt: skip
    assert conversations.mark_read(s, NUMBER, now=T0) == 2
    assert [c.number for c in conversations.summaries(s, unread_only=True)] == ["+31687654321"]
    assert [m["text"] for m in conversations.thread(s, NUMBER)] == ["first", "second"]
