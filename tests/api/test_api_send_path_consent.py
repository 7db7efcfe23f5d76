"""Consent is enforced where messages are claimed: a STOP received through a modem stops what
is still queued for that number, is confirmed once, and START lifts it."""

from __future__ import annotations

from datetime import UTC

from tests.support.api import Api, wait_for

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
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC).astimezone(ZoneInfo(zone))
    target = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    api.clock.offset = target.astimezone(UTC) - datetime.now(UTC)


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


def test_the_account_sets_the_send_window_and_cap_of_api_marketing_and_new_campaigns(tmp_path) -> None:
    from gateway.core.settings import CampaignSettings
    from tests.support.api import running_api, settings_for

    rules = CampaignSettings(window_start="08:00", window_end="09:00", frequency_cap=1, frequency_days=30)
    with running_api(settings_for(f"sqlite:///{tmp_path / 'modemgate.db'}", campaigns=rules)) as api:
        fan = "+31612340001"
        contact = api.post("/v1/contacts", json={"number": fan}).json()
        assert (
            api.post(f"/v1/contacts/{contact['id']}/consent", json={"kind": "opt_in", "source": "shop"}).status_code
            == 201
        )
        _at_local(api, 10)  # inside the default 10:00-20:00, after this account's 08:00-09:00
        late = api.send("coupon", to=fan, category="marketing")
        api.send("your receipt", to=fan)
        wait_for(lambda: "your receipt" in _network_texts(api, fan), 15, "the receipt sent")
        held = api.message(late["id"])
        assert held["status"] == "queued" and "coupon" not in _network_texts(api, fan), held
        api.clock.advance(hours=22)  # 08:00 next day
        api.gateway.wake()
        wait_for(lambda: "coupon" in _network_texts(api, fan), 15, "the coupon sent at 08:00")
        second = _wait_final(api, api.send("another coupon", to=fan, category="marketing")["id"])
        assert second["status"] == "suppressed" and "frequency_cap" in second["last_error"]  # one a month here

        campaign = api.post("/v1/campaigns", json={"name": "Spring", "template": "Hi"}).json()
        assert (campaign["window_start"], campaign["window_end"], campaign["frequency_cap"], campaign["frequency_days"]) == (
            "08:00", "09:00", 1, 30)  # fmt: skip
        own = api.post("/v1/campaigns", json={"name": "Own", "template": "Hi", "window_start": "12:00",
                                              "window_end": "13:00", "frequency_cap": 2}).json()  # fmt: skip
        assert (own["window_start"], own["window_end"], own["frequency_cap"], own["frequency_days"]) == (
            "12:00",
            "13:00",
            2,
            30,
        )
