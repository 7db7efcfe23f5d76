"""Campaigns through the API and the simulated network: personalised texts with footer and
short links, nothing for an opted-out number, tracked clicks, conversions, a STOP mid-way."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway import campaigns
from tests.support.api import PUBLIC_URL, Api, assert_error, running_api, settings_for, wait_for
from tests.support.campaigns import Person, audience

ANNA, BOB, GONE = "+31610000071", "+31610000072", "+31610000073"


def _network(api: Api) -> list[dict]:
    return api.get("/v1/simulator/network").json()["messages"]


def _launch(api: Api, list_id: int, name: str) -> int:
    body = {"name": name, "template": "Hi {{first_name|there}}, 20% off: https://shop.example/sale?x=1",
            "brand": "Acme", "lists": [list_id], "window_start": "00:00", "window_end": "24:00"}  # fmt: skip
    created = api.post("/v1/campaigns", json=body)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    review = api.post(f"/v1/campaigns/{campaign_id}/review").json()
    assert review["status"] == "review" and review["errors"] == [], review
    assert api.post(f"/v1/campaigns/{campaign_id}/schedule", json={"kind": "now"}).json()["status"] == "scheduled"
    campaigns.run_due(api.gateway.engine, now=api.clock.now(), settings=api.gateway.settings)
    api.gateway.wake()
    return campaign_id


def test_campaign_reaches_the_network_personalised_and_tracks_clicks(api: Api) -> None:
    people = [Person(ANNA, first_name="Anna"), Person(BOB, first_name=None), Person(GONE, opted_out=True)]
    list_id = audience(api.gateway.engine, people)
    campaign_id = _launch(api, list_id, "Winter sale")
    wait_for(lambda: len(_network(api)) == 2, 20, "two campaign messages on the network", last=lambda: _network(api))
    texts = {m["recipient"]: m["text"] for m in _network(api)}
    assert set(texts) == {ANNA, BOB}  # nothing for the opted-out number
    assert texts[ANNA].startswith(f"Acme: Hi Anna, 20% off: {PUBLIC_URL}/r/")
    assert texts[BOB].startswith("Acme: Hi there, ") and texts[BOB].endswith("\nReply STOP to opt out")
    code = texts[ANNA].split("/r/")[1].split()[0]

    first = api.client.get(f"/r/{code}", follow_redirects=False)
    assert first.status_code == 302
    landing, click_id = first.headers["location"].split("&mg_click=")
    assert landing == "https://shop.example/sale?x=1&utm_source=sms&utm_medium=sms&utm_campaign=winter-sale"
    again = api.client.get(f"/r/{code}", follow_redirects=False)  # the same visitor within the window: one click
    assert again.status_code == 302 and again.headers["location"] == first.headers["location"]
    assert_error(api.client.get("/r/https%3A%2F%2Fevil.example", follow_redirects=False), 404, "not_found")
    assert_error(api.client.get("/r/AAAAAAAAAA", follow_redirects=False), 404, "not_found")
    order = {"click_id": click_id, "order_id": "A-1001", "value": 30.5, "currency": "EUR"}
    posted = api.post("/v1/conversions", json=order)
    assert posted.status_code == 201 and posted.json()["click_id"] == click_id
    replay = api.post("/v1/conversions", json=order)  # the shop's retry: the same answer, counted once
    assert replay.json() == posted.json() and replay.headers["Idempotent-Replayed"] == "true"
    assert_error(api.post("/v1/conversions", json={**order, "value": 99.0}), 409, "conflict")

    report = api.get(f"/v1/campaigns/{campaign_id}/analytics").json()
    assert (report["audience"], report["sent"], report["unique_clicks"], report["conversions"]) == (3, 2, 1, 1)
    assert report["suppressed"] == {"opted_out": 1} and report["revenue"] == 30.5
    overall = api.get("/v1/campaigns/analytics").json()
    assert overall["unique_clicks"] == 1 and len(overall["campaigns"]) == 1


def test_stop_between_campaigns_stops_the_next_and_is_confirmed_once(api: Api) -> None:
    list_id = audience(api.gateway.engine, [Person(ANNA), Person(BOB)])
    _launch(api, list_id, "first")
    wait_for(lambda: len(_network(api)) == 2, 20, "the first campaign sent")
    assert api.post("/v1/simulator/inbound", json={"modem": "sim1", "from": ANNA, "text": "STOP"}).status_code == 202
    wait_for(lambda: api.get("/v1/opt-outs").json()["items"], 10, "the opt-out recorded")
    second = _launch(api, list_id, "second")
    wait_for(lambda: len(_network(api)) == 4, 20, "the confirmation and the second campaign to Bob")
    to_anna = [m["text"] for m in _network(api) if m["recipient"] == ANNA]
    assert len(to_anna) == 2 and "unsubscribed" in to_anna[1]  # the first campaign, then one confirmation
    with api.gateway.engine.connect() as conn:
        held = conn.execute(
            sa.text("SELECT recipient, status FROM message WHERE campaign_id = :c"), {"c": second}
        ).all()
    wait_for(
        lambda: api.get(f"/v1/campaigns/{second}/analytics").json()["suppressed"] == {"opted_out": 1}, 10, "suppressed"
    )
    assert {r[0] for r in held} == {ANNA, BOB}


def test_repeated_clicks_by_one_client_all_redirect_and_are_recorded_once(api: Api) -> None:
    list_id = audience(api.gateway.engine, [Person(ANNA)])
    campaign_id = _launch(api, list_id, "Clicks")
    wait_for(lambda: _network(api), 20, "the campaign message on the network")
    code = _network(api)[0]["text"].split("/r/")[1].split()[0]
    for _ in range(30):  # a crawler, or a redirect loop
        assert api.client.get(f"/r/{code}", follow_redirects=False).status_code == 302
    other = api.client.get(f"/r/{code}", follow_redirects=False, headers={"User-Agent": "Mozilla/5.0 (Android)"})
    assert other.status_code == 302
    with api.gateway.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT client FROM click")).scalars().all()
    assert len(rows) == 2 and len(set(rows)) == 2 and all(r and "testclient" not in r for r in rows)
    assert api.get(f"/v1/campaigns/{campaign_id}/analytics").json()["unique_clicks"] == 1


def test_review_refuses_a_campaign_whose_links_point_at_loopback(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'modemgate.db'}", public_url="http://127.0.0.1:8000")
    with running_api(settings) as api:
        list_id = audience(api.gateway.engine, [Person(ANNA)])
        body = {"name": "Dead links", "template": "20% off: https://shop.example/sale", "lists": [list_id]}
        campaign_id = api.post("/v1/campaigns", json=body).json()["id"]
        review = api.post(f"/v1/campaigns/{campaign_id}/review").json()
        assert review["status"] == "draft" and [e["code"] for e in review["errors"]] == ["unreachable_links"]
        assert "127.0.0.1" in review["errors"][0]["message"]
        assert_error(api.post(f"/v1/campaigns/{campaign_id}/schedule", json={"kind": "now"}), 409, "conflict")
        test = api.post(f"/v1/campaigns/{campaign_id}/test", json={"numbers": [BOB]})
        assert test.status_code == 202, test.text  # a proof to the team's own phone still goes


def test_campaign_api_errors(api: Api) -> None:
    assert_error(api.post("/v1/campaigns", json={"name": "x", "template": "Hi {{oops"}), 422, "invalid_request")
    created = api.post("/v1/campaigns", json={"name": "empty", "template": "Hello"}).json()
    review = api.post(f"/v1/campaigns/{created['id']}/review").json()
    assert review["status"] == "draft" and review["errors"][0]["code"] == "empty_audience"
    assert_error(api.post(f"/v1/campaigns/{created['id']}/schedule", json={"kind": "now"}), 409, "conflict")
    assert_error(api.get("/v1/campaigns/999"), 404, "not_found")


@pytest.mark.slow
def test_stop_after_200_went_out_stops_the_rest_to_that_number_and_is_confirmed_once(api: Api) -> None:
    people = [Person(f"+3162{i:07d}", first_name=f"P{i}") for i in range(240)]
    list_id = audience(api.gateway.engine, people)
    hook = api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["optout"]}).json()
    campaign_id = _launch(api, list_id, "Big sale")
    wait_for(lambda: len(_network(api)) >= 200, 60, "200 campaign messages out", last=lambda: len(_network(api)))
    for modem in ("sim1", "sim2"):
        assert api.patch(f"/v1/modems/{modem}", json={"enabled": False}).status_code == 200
    with api.gateway.engine.connect() as conn:
        waiting = (
            conn.execute(
                sa.text(
                    "SELECT recipient FROM message WHERE campaign_id = :c AND status = 'queued' ORDER BY recipient"
                ),
                {"c": campaign_id},
            )
            .scalars()
            .all()
        )
    assert waiting, "the campaign finished before the STOP could come"
    stopper = waiting[-1]
    assert api.post("/v1/simulator/inbound", json={"modem": "sim1", "from": stopper, "text": "stop"}).status_code == 202
    wait_for(lambda: api.get("/v1/opt-outs").json()["items"], 10, "the opt-out recorded")
    for modem in ("sim1", "sim2"):
        api.patch(f"/v1/modems/{modem}", json={"enabled": True})

    def finished() -> bool:
        return api.get(f"/v1/campaigns/{campaign_id}").json()["status"] == "done"

    wait_for(finished, 60, "the campaign done", last=lambda: api.get(f"/v1/campaigns/{campaign_id}").json())
    to_stopper = [m["text"] for m in _network(api) if m["recipient"] == stopper]
    assert len(to_stopper) == 1 and "unsubscribed" in to_stopper[0]  # the confirmation, nothing of the campaign
    assert len({m["recipient"] for m in _network(api)}) == 240  # everyone else got theirs
    assert [o["number"] for o in api.get("/v1/opt-outs").json()["items"]] == [stopper]
    deliveries = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
    assert [d["event"] for d in deliveries] == ["optout"]
    assert api.get(f"/v1/campaigns/{campaign_id}/analytics").json()["suppressed"] == {"opted_out": 1}
