"""Campaign housekeeping through the API: a message held by the send window says why and until
when, the recipients view by state (paged, and as CSV), the contact timeline with clicks and
conversions, clone, delete a draft, archive, compare."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from gateway import campaigns
from tests.support.api import Api, assert_error, wait_for
from tests.support.campaigns import Person, audience

ANNA, CARL, GONE = "+31610000081", "+31610000082", "+31610000083"


def test_held_recipients_view_timeline_clone_archive_and_compare(api: Api) -> None:
    now = api.clock.now()
    opens, closes = f"{(now.hour + 2) % 24:02d}:00", f"{(now.hour + 3) % 24:02d}:00"  # shut now, open in 1-2 h
    people = [Person(ANNA, zone="UTC"), Person(CARL, zone="UTC"), Person(GONE, zone="UTC", opted_out=True)]
    list_id = audience(api.gateway.engine, people)
    body = {"name": "Autumn", "template": "Hi {{first_name|there}}: https://shop.example/autumn", "lists": [list_id],
            "window_start": opens, "window_end": closes, "utm": {"medium": "text"}}  # fmt: skip
    campaign_id = api.post("/v1/campaigns", json=body).json()["id"]
    assert api.post(f"/v1/campaigns/{campaign_id}/review").json()["errors"] == []
    api.post(f"/v1/campaigns/{campaign_id}/schedule", json={"kind": "now"})
    campaigns.run_due(api.gateway.engine, now=api.clock.now(), settings=api.gateway.settings)

    waiting = api.get(f"/v1/campaigns/{campaign_id}/recipients", params={"state": "not_sent"}).json()["items"]
    assert len(waiting) == 3 and {r["reason"] for r in waiting} == {"send_window"}
    opening = datetime.fromisoformat(waiting[0]["due_at"])
    assert opening > now and opening.strftime("%H:%M") == opens
    held = api.message(next(r["message_id"] for r in waiting if r["number"] == ANNA))
    assert held["status"] == "queued" and held["held"] == {"reason": "send_window", "until": waiting[0]["due_at"]}

    api.clock.advance(hours=2)  # into the window
    api.gateway.wake()
    wait_for(lambda: len(_rows(api, campaign_id, "sent")) == 2, 20, "two sent", last=lambda: _rows(api, campaign_id))
    (stopped,) = _rows(api, campaign_id, "not_sent")
    assert (stopped["number"], stopped["status"], stopped["reason"]) == (GONE, "suppressed", "opted_out")
    assert api.message(stopped["message_id"])["held"] == {"reason": "opted_out", "until": None}

    anna = next(r for r in _rows(api, campaign_id, "sent") if r["number"] == ANNA)
    text = api.message(anna["message_id"])["text"]
    landing = api.client.get("/r/" + text.split("/r/")[1].split()[0], follow_redirects=False).headers["location"]
    assert "utm_medium=text" in landing and "utm_source=sms" in landing
    order = {"click_id": landing.split("mg_click=")[1], "order_id": "X-7", "value": 12.0}
    assert api.post("/v1/conversions", json=order).status_code == 201
    (clicked,) = _rows(api, campaign_id, "clicked")
    (converted,) = _rows(api, campaign_id, "converted")
    assert clicked["number"] == converted["number"] == ANNA and (converted["conversions"], converted["revenue"]) == (
        1,
        12.0,
    )
    assert _rows(api, campaign_id, "undelivered") == []
    assert_error(api.get(f"/v1/campaigns/{campaign_id}/recipients", params={"state": "lost"}), 422)
    paged = api.every(f"/v1/campaigns/{campaign_id}/recipients", limit=1)
    assert sorted(r["number"] for r in paged) == sorted([ANNA, CARL, GONE])

    exported = api.get(f"/v1/campaigns/{campaign_id}/recipients.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(table) == 3 and {r["number"]: r["reason"] for r in table}[GONE] == "opted_out"
    assert {r["number"]: r["revenue"] for r in table}[ANNA] == "12.0"

    contact_id = anna["contact_id"]
    events = {e["type"] for e in api.every(f"/v1/contacts/{contact_id}/timeline")}
    assert {"click", "conversion", "message"} <= events

    wait_for(lambda: _done(api, campaign_id), 20, "campaign done")
    copy = api.post(f"/v1/campaigns/{campaign_id}/clone", json={}).json()
    assert (copy["name"], copy["status"], copy["template"], copy["utm"]) == (
        "Autumn (copy)", "draft", body["template"], {"medium": "text"})  # fmt: skip
    assert api.client.delete(f"/v1/campaigns/{copy['id']}", headers=api.headers).status_code == 204
    assert_error(api.get(f"/v1/campaigns/{copy['id']}"), 404)
    assert_error(api.client.delete(f"/v1/campaigns/{campaign_id}", headers=api.headers), 409, "conflict")

    other = api.post("/v1/campaigns", json={**body, "name": "Winter"}).json()["id"]
    side = api.get("/v1/campaigns/compare", params={"ids": [campaign_id, other]}).json()["campaigns"]
    assert [(c["name"], c["sent"], c["conversions"]) for c in side] == [("Autumn", 2, 1), ("Winter", 0, 0)]
    assert_error(api.get("/v1/campaigns/compare", params={"ids": [campaign_id, 999]}), 404)

    assert api.post(f"/v1/campaigns/{campaign_id}/archive").json()["archived_at"] is not None
    listed = [c["id"] for c in api.every("/v1/campaigns")]
    archived = [c["id"] for c in api.every("/v1/campaigns", archived="true")]
    assert campaign_id not in listed and other in listed and archived == [campaign_id]


def _rows(api: Api, campaign_id: int, state: str = "all") -> list[dict]:
    return api.every(f"/v1/campaigns/{campaign_id}/recipients", state=state)


def _done(api: Api, campaign_id: int) -> bool:
    campaigns.run_due(api.gateway.engine, now=api.clock.now(), settings=api.gateway.settings)
    return api.get(f"/v1/campaigns/{campaign_id}").json()["status"] == "done"


def test_marketing_sent_outside_the_recipients_window_says_why_and_until_when(api: Api) -> None:
    now = api.clock.now()
    offset = (3 - now.hour + 12) % 24 - 12  # a zone where it is 03:00 now, outside 10:00-20:00
    zone = "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"
    audience(api.gateway.engine, [Person(ANNA, zone=zone)])
    message = api.send("Our sale starts today", to=ANNA, category="marketing")
    held = wait_for(lambda: api.message(message["id"])["held"], 10, "the claim holds it")
    until = datetime.fromisoformat(held["until"]).astimezone(ZoneInfo(zone))
    assert held["reason"] == "send_window" and (until.hour, until.minute) == (10, 0) and until > now
    assert api.message(message["id"])["status"] == "queued"
