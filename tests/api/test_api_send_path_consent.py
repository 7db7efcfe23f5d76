"""Consent is enforced where messages are claimed: a STOP received through a modem stops what
is still queued for that number, is confirmed once, and START lifts it."""

from __future__ import annotations

from apitools import Api, wait_for

CUSTOMER = "+31687654321"


def _network_texts(api: Api, to: str) -> list[str]:
    messages = api.get("/v1/simulator/network").json()["messages"]
    return [m["text"] for m in messages if m["recipient"] == to]


def _inject(api: Api, text: str, sender: str = CUSTOMER) -> None:
    assert api.post("/v1/simulator/inbound", json={"modem": "sim1", "from": sender, "text": text}).status_code == 202


def _wait_final(api: Api, message_id: str) -> dict:
    return wait_for(
        lambda: (m := api.message(message_id))["status"] not in ("queued", "sending") and m,
        15, f"message {message_id} settled", last=lambda: api.message(message_id),
    )  # fmt: skip


def test_stop_suppresses_what_is_queued_confirms_once_and_start_lifts_it(api: Api) -> None:
    before = api.send("your order has shipped", to=CUSTOMER)
    api.wait_delivered(before["id"])

    for modem in ("sim1", "sim2"):  # hold new work while the STOP comes in
        assert api.patch(f"/v1/modems/{modem}", json={"enabled": False}).status_code == 200
    queued = [api.send(f"offer {i}", to=CUSTOMER, category="marketing") for i in range(2)]
    queued.append(api.send("your invoice", to=CUSTOMER))
    other = api.send("still for you", to="+31611112222")
    _inject(api, "Stop.")
    wait_for(lambda: api.get("/v1/opt-outs").json()["items"], 10, "the opt-out recorded")
    _inject(api, "STOP")  # again: no second confirmation
    for modem in ("sim1", "sim2"):
        api.patch(f"/v1/modems/{modem}", json={"enabled": True})

    for message in queued:
        settled = _wait_final(api, message["id"])
        assert settled["status"] == "suppressed" and "opted_out" in settled["last_error"]
        assert {p["status"] for p in settled["parts"]} == {"cancelled"}
    api.wait_delivered(other["id"])
    wait_for(lambda: len(_network_texts(api, CUSTOMER)) == 2, 15, "the STOP confirmation sent")
    texts = _network_texts(api, CUSTOMER)
    assert texts[0] == "your order has shipped" and "STOP" not in texts[0]
    confirmation = texts[1]
    assert "START" in confirmation or "unsubscribed" in confirmation.lower()

    _inject(api, "start")
    wait_for(lambda: not api.get("/v1/opt-outs").json()["items"], 10, "the opt-out lifted")
    again = api.send("welcome back", to=CUSTOMER)
    api.wait_delivered(again["id"])
    wait_for(lambda: len(_network_texts(api, CUSTOMER)) == 4, 15, "the START reply and the new message")
    assert _network_texts(api, CUSTOMER).count(confirmation) == 1


def _at_local(api: Api, hour: int, zone: str = "Europe/Amsterdam") -> None:
    """Move the gateway's wall clock to the next `hour`:00 local time in `zone`."""
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    now = datetime.now(timezone.utc).astimezone(ZoneInfo(zone))
    target = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    api.clock.offset = target.astimezone(timezone.utc) - datetime.now(timezone.utc)


def test_marketing_through_the_api_waits_for_the_recipients_daytime_and_keeps_the_cap(api: Api) -> None:
    fan = "+31612340000"
    contact = api.post("/v1/contacts", json={"number": fan})
    assert contact.status_code == 201, contact.text
    opt_in = {"kind": "opt_in", "source": "web form"}
    assert api.post(f"/v1/contacts/{contact.json()['id']}/consent", json=opt_in).status_code == 201
    _at_local(api, 23)  # 23:00 in Amsterdam (the gateway's clock only: reports are not awaited)
    late = api.send("flash sale tonight", to=fan, category="marketing")
    receipt = api.send("your receipt", to=fan)  # transactional: any hour
    wait_for(lambda: "your receipt" in _network_texts(api, fan), 15, "the receipt sent")
    assert api.message(late["id"])["status"] == "queued" and "flash sale tonight" not in _network_texts(api, fan)
    api.clock.advance(hours=11)  # 10:00 next morning in Amsterdam
    api.gateway.wake()
    wait_for(lambda: "flash sale tonight" in _network_texts(api, fan), 15, "the offer sent in the morning")
    for i in range(3):  # four marketing messages a week at most: the fifth is not sent
        api.send(f"offer {i}", to=fan, category="marketing")
        wait_for(lambda i=i: f"offer {i}" in _network_texts(api, fan), 15, f"offer {i} sent")
    fifth = _wait_final(api, api.send("one too many", to=fan, category="marketing")["id"])
    assert fifth["status"] == "suppressed" and "frequency_cap" in fifth["last_error"]
    assert receipt["category"] == "transactional"
