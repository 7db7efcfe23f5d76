"""Auto-replies answer people, never machines, and at most N times per number per period."""

from __future__ import annotations

import time

from tests.support.api import Api, wait_for
from tests.support.twoway import body, sent_to, step_due, text_in, wait_sent

PERSON = "+31612000003"


def _inbox_size(api: Api) -> int:
    return len(body(api, "get", "/v1/inbox", 200)["items"])


def test_auto_reply_skips_alphanumeric_senders_and_stops_at_its_limit(api: Api) -> None:
    body(api, "post", "/v1/auto-replies", 201,
         json={"name": "closed", "reply": "We read messages 9-17.", "max_per_period": 2, "period_seconds": 3600})  # fmt: skip
    text_in(api, "ShopBot", "Your parcel is on its way")
    text_in(api, "1212", "Code 1234")  # a short code
    wait_for(lambda: _inbox_size(api) == 2, 5, "both machine messages stored")
    for i in range(4):
        text_in(api, PERSON, f"hello {i}")
    wait_for(lambda: _inbox_size(api) == 6, 5, "the person's messages stored")
    wait_sent(api, PERSON, 2)
    time.sleep(0.3)
    assert sent_to(api, PERSON) == ["We read messages 9-17."] * 2
    network = body(api, "get", "/v1/simulator/network", 200)["messages"]
    assert {m["recipient"] for m in network} == {PERSON}  # nothing to the bot or the short code
    step_due(api, hours=1, seconds=1)
    text_in(api, PERSON, "anyone?")
    assert wait_sent(api, PERSON, 3)[2] == "We read messages 9-17."

    unread = body(api, "get", "/v1/conversations", 200, params={"unread": True})
    assert {c["number"]: c["unread"] for c in unread}[PERSON] == 5
    thread = body(api, "get", f"/v1/conversations/{PERSON}", 200)
    assert [m["direction"] for m in thread["messages"]][:3] == ["in", "out", "in"]
    body(api, "post", f"/v1/conversations/{PERSON}/reply", 202, json={"text": "Hi, how can we help?"})
    assert wait_sent(api, PERSON, 4)[3] == "Hi, how can we help?"
    after = body(api, "get", "/v1/conversations", 200)
    assert {c["number"]: c["unread"] for c in after}[PERSON] == 0
