"""An A/B campaign of 1,000 contacts through the running gateway and its simulated modems: a 20 %
test group split between A and B, clicks that favour B, the wait passed on the gateway's clock,
B chosen and sent to the other 800 — and every contact's preview is what the network received.
Conversions on top: a shop's retry counts once, a test send's conversion is left out, and the
revenue per variant is what was posted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway import campaigns
from gateway.core.db import session
from gateway.core.models import Message
from gateway.core.settings import ModemSettings, Settings
from tests.support.api import PUBLIC_URL, Api, running_api, wait_for
from tests.support.campaigns import Person, audience

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TEMPLATES = {
    "A": "Hi {{first_name|there}}, 10% off this week: https://shop.example/sale",
    "B": "{{first_name|Friend}}, free delivery today only: https://shop.example/sale",
}


@pytest.fixture
def fast_api(tmp_path: Path) -> Iterator[Api]:
    modems = [ModemSettings(id=f"sim{i}", port=f"sim://sim{i}", sends_per_minute="unlimited", daily_cap=0)
              for i in range(1, 11)]  # fmt: skip
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'modemgate.db'}", default_region="NL", modems=modems, public_url=PUBLIC_URL
    )
    with running_api(settings) as api:
        yield api


def test_ab_test_on_a_fifth_picks_b_and_sends_it_to_the_rest(fast_api: Api) -> None:
    api = fast_api
    crowd = [Person(f"+3165{i:07d}", first_name=None if i % 3 == 0 else f"Eva{i}") for i in range(1000)]
    list_id = audience(api.gateway.engine, crowd)
    body = {
        "name": "Spring test", "brand": "Acme", "lists": [list_id], "window_start": "00:00", "window_end": "24:00",
        "variants": [{"name": n, "template": t, "weight": 1} for n, t in TEMPLATES.items()],
        "test_share": 20, "ab_metric": "click", "ab_wait_minutes": 60,
    }  # no top-level template: an A/B campaign needs none  # fmt: skip
    created = api.post("/v1/campaigns", json=body)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    review = api.post(f"/v1/campaigns/{campaign_id}/review").json()
    assert review["errors"] == [] and review["sendable"] == 1000, review

    contacts = {c["number"]: c["id"] for c in api.every("/v1/contacts", limit=200)}
    before = {n: _preview(api, campaign_id, contacts[n]) for n in list(contacts)[:50]}
    assert {p["group"] for p in before.values()} == {"test", "rest"}
    assert all(p["pending"] for p in before.values() if p["group"] == "rest")  # the winner is not known yet

    # A test send can pick its variant; its click and conversion stay out of the figures.
    team = "+31612345678"
    sent = api.post(f"/v1/campaigns/{campaign_id}/test", json={"numbers": [team], "variant": "B"})
    assert sent.status_code == 202, sent.text
    assert api.post(f"/v1/campaigns/{campaign_id}/schedule", json={"kind": "now"}).status_code == 200

    def network() -> dict[str, str]:
        return {m["recipient"]: m["text"] for m in api.get("/v1/simulator/network").json()["messages"]}

    def report() -> dict:
        return api.get(f"/v1/campaigns/{campaign_id}/analytics").json()

    def sent() -> int:  # cheap to poll: the gateway runs in this process
        with api.gateway.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).where(Message.campaign_id == campaign_id, Message.sent_at.is_not(None))
            ).scalar_one()

    wait_for(lambda: sent() == 200, 60, "the test group sent", every=0.2, last=sent)
    received = network()
    assert received.pop(team).startswith("Acme: Friend, free delivery")  # B, with the tokens' defaults
    test_click = api.client.get(_link(network()[team]), follow_redirects=False).headers["location"]
    test_order = {"click_id": test_click.split("mg_click=")[1], "order_id": "T-1", "value": 1000.0}
    assert api.post("/v1/conversions", json=test_order).json()["test"] is True

    # Clicks favour B: 40 of B's 100 recipients click, 15 of A's.
    clickers = {"A": 15, "B": 40}
    click_ids: dict[str, list[str]] = {"A": [], "B": []}
    assert len(received) == 200
    for text in received.values():
        variant = _variant(text)
        if len(click_ids[variant]) < clickers[variant]:
            location = api.client.get(_link(text), follow_redirects=False).headers["location"]
            click_ids[variant].append(location.split("mg_click=")[1])
    assert report()["ab"]["phase"] == "waiting"
    api.clock.advance(minutes=61)  # the wait, on the gateway's clock
    api.gateway.wake_campaigns()
    wait_for(lambda: sent() == 1000, 90, "the rest sent", every=0.2, last=lambda: (sent(), report()["ab"]))

    final = report()
    decision = final["ab"]["decision"]
    assert final["ab"]["winner"] == "B" and decision["winner"] == "B" and decision["significant"], decision
    assert decision["p_value"] < 0.05
    arms = {a["variant"]: a for a in final["ab"]["arms"]}
    assert (arms["A"]["n"], arms["A"]["successes"], arms["B"]["n"], arms["B"]["successes"]) == (100, 15, 100, 40)
    low, high = arms["B"]["interval"]
    assert low < 0.40 < high
    received = network()
    received.pop(team)
    assert len(received) == 1000
    with session(api.gateway.engine) as s:  # the preview route's own function, for all 1,000 at once
        previews = {
            number: campaigns.preview(s, campaign_id, contact_id, public_url=PUBLIC_URL)
            for number, contact_id in contacts.items()
        }
    for number, preview in previews.items():
        assert preview.text == received[number], number  # to the character, short link included
        assert preview.variant == _variant(received[number]) and preview.pending is None
    for number in list(contacts)[:50]:  # and through the API: what it showed before, for the test group
        after = _preview(api, campaign_id, contacts[number])
        assert after["text"] == previews[number].text
        if before[number]["group"] == "test":
            assert after["variant"] == before[number]["variant"]
    rest = [n for n, p in previews.items() if p.group == "rest"]
    test = [n for n, p in previews.items() if p.group == "test"]
    assert len(rest) == 800 and all(previews[n].variant == "B" for n in rest)
    assert len(test) == 200 and sum(previews[n].variant == "B" for n in test) == 100  # exact shares

    # Conversions: two per variant, the shop posting one of them twice; plus the test send's.
    orders = [("A", 0, "O-1", 20.0), ("A", 1, "O-2", 5.5), ("B", 0, "O-3", 42.0), ("B", 1, "O-4", 8.0)]
    for variant, i, order_id, value in orders:
        posted = api.post("/v1/conversions", json={"click_id": click_ids[variant][i], "order_id": order_id,
                                                   "value": value, "currency": "EUR"})  # fmt: skip
        assert posted.status_code == 201, posted.text
    again = api.post("/v1/conversions", json={"click_id": click_ids["B"][0], "order_id": "O-3", "value": 42.0,
                                              "currency": "EUR"})  # fmt: skip
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    final = report()
    per_variant = {v["variant"]: v for v in final["variants"]}
    assert (final["conversions"], final["revenue"]) == (4, 75.5)  # the retry once, the test send's not at all
    assert (per_variant["A"]["conversions"], per_variant["A"]["revenue"]) == (2, 25.5)
    assert (per_variant["B"]["conversions"], per_variant["B"]["revenue"]) == (2, 50.0)
    assert final["unique_clicks"] == 55


def _preview(api: Api, campaign_id: int, contact_id: int) -> dict:
    answer = api.get(f"/v1/campaigns/{campaign_id}/preview/{contact_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def _variant(text: str) -> str:
    return "B" if "free delivery today only" in text else "A"


def _link(text: str) -> str:
    return "/r/" + text.split("/r/")[1].split()[0]
