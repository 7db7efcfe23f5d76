"""A keyword sign-up starts a welcome series; STOP ends it (real gateway, simulated modems)."""

from __future__ import annotations

import time

from tests.support.api import Api, wait_for
from tests.support.twoway import body, sent_to, step_due, text_in, wait_sent

NEWCOMER = "+31612000001"


def _welcome_series(api: Api) -> int:
    sequence = body(
        api, "post", "/v1/sequences", 201,
        json={"name": "welcome", "steps": [
            {"delay_seconds": 0, "template": "Welcome {{first_name|friend}}! Your code: WELCOME10"},
            {"delay_seconds": 86_400, "template": "Day two: our best sellers https://shop.example/best"},
            {"delay_seconds": 2 * 86_400, "template": "Day three: last tip"},
        ]},
    )  # fmt: skip
    body(
        api, "post", "/v1/keywords", 201,
        json={"word": "JOIN", "actions": [{"type": "opt_in"}, {"type": "start_sequence", "sequence_id": sequence["id"]}],
              "reply": "Thanks for joining!"},
    )  # fmt: skip
    return sequence["id"]


def test_unknown_number_texting_a_keyword_gets_a_welcome_series_that_stop_ends(api: Api) -> None:
    sequence_id = _welcome_series(api)
    text_in(api, NEWCOMER, "join!")  # any case, any punctuation
    texts = wait_sent(api, NEWCOMER, 2)
    assert texts[0] == "Thanks for joining!"
    assert texts[1].startswith("Welcome friend! Your code: WELCOME10")

    contact = body(api, "get", "/v1/contacts", 200, params={"number": NEWCOMER})["items"]
    assert [c["number"] for c in contact] == [NEWCOMER]
    timeline = body(api, "get", f"/v1/contacts/{contact[0]['id']}/timeline", 200)["items"]
    assert [e["data"]["proof"] for e in timeline if e["type"] == "opt_in"] == ["join!"]

    step_due(api, hours=23)
    time.sleep(0.3)
    assert len(sent_to(api, NEWCOMER)) == 2  # not before its day
    step_due(api, hours=1, seconds=1)
    texts = wait_sent(api, NEWCOMER, 3)
    assert texts[2].startswith("Day two: our best sellers https://sms.example.com/r/")

    text_in(api, NEWCOMER, "STOP")
    wait_sent(api, NEWCOMER, 4)  # the STOP confirmation
    step_due(api, days=2)
    time.sleep(0.5)
    texts = sent_to(api, NEWCOMER)
    assert len(texts) == 4 and not any("Day three" in t for t in texts), texts
    (enrollment,) = body(api, "get", f"/v1/sequences/{sequence_id}/enrollments", 200)
    assert (enrollment["status"], enrollment["exit_reason"]) == ("exited", "stop")
    analytics = body(api, "get", f"/v1/sequences/{sequence_id}", 200)["analytics"]
    assert [(a["step"], a["queued"], a["exited"]) for a in analytics] == [(1, 1, 0), (2, 1, 1), (3, 0, 0)]


def test_start_from_an_unknown_number_creates_the_contact_and_welcomes_it(api: Api) -> None:
    text_in(api, NEWCOMER, "START")
    (reply,) = wait_sent(api, NEWCOMER, 1)
    assert "again" not in reply and reply.startswith("You are subscribed")
    wait_for(lambda: body(api, "get", "/v1/contacts", 200, params={"number": NEWCOMER})["items"], 5, "the new contact")
