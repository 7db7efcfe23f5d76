"""GET/PATCH /v1/modems and the simulator's fault control seen through the API."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.support.api import Api, assert_error, error_fields, wait_for


def test_modems_are_listed_ready_with_identity_signal_counters_and_pacing(api: Api) -> None:
    # Signal and registration come with the first health poll, just after the modem is ready.
    modems = wait_for(
        lambda: (m := api.modems()) and all(x["registration"] for x in m.values()) and m,
        5,
        "a health poll on both modems",
        last=api.modems,
    )
    assert sorted(modems) == ["sim1", "sim2"]
    imeis = set()
    for modem in modems.values():
        assert modem["state"] == "ready" and modem["enabled"] is True and modem["simulated"] is True
        assert modem["identity"]["imei"] and modem["identity"]["manufacturer"] and modem["identity"]["imsi"]
        imeis.add(modem["identity"]["imei"])
        assert modem["registration"] == "home" and modem["operator"] == "SimNet"  # AT+COPS?, the simulated network
        assert modem["status_reports"] is True  # AT+CNMI routes them on the simulated modems
        assert 0 <= modem["signal"]["rssi"] <= 31 and modem["signal"]["dbm"] < 0
        assert modem["counters"] == {"sent_parts": 0, "sent_messages": 0, "failed": 0, "retried": 0, "faults": 0}
        assert modem["pacing"]["sends_per_minute"] == 600 and modem["pacing"]["burst"] == 10
        assert modem["pacing"]["daily_cap"] == 0 and modem["pacing"]["slowed_down"] is False
    assert len(imeis) == 2
    one = api.get("/v1/modems/sim2").json()
    assert one["id"] == "sim2" and one["identity"] == modems["sim2"]["identity"]


def test_counters_follow_what_was_sent(api: Api) -> None:
    ids = [api.send("one part")["id"], api.send("two parts " * 20)["id"]]
    for message_id in ids:
        api.wait_delivered(message_id)
    modems = api.modems()
    assert sum(m["counters"]["sent_messages"] for m in modems.values()) == 2
    assert sum(m["counters"]["sent_parts"] for m in modems.values()) == 3
    assert sum(m["pacing"]["sent_today"] for m in modems.values()) == 3


def test_a_disabled_modem_takes_no_new_work(api: Api) -> None:
    patched = api.patch("/v1/modems/sim1", json={"enabled": False})
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    wait_for(lambda: api.modems()["sim1"]["state"] == "disabled", 5, "sim1 disabled")

    ids = [api.send(f"message {i}")["id"] for i in range(8)]
    done = [api.wait_delivered(i) for i in ids]
    assert {m["modem"] for m in done} == {"sim2"}
    assert api.modems()["sim1"]["counters"]["sent_parts"] == 0

    api.patch("/v1/modems/sim1", json={"enabled": True})
    pinned = api.send("through sim1 again", modem="sim1")
    assert api.wait_delivered(pinned["id"])["modem"] == "sim1"


def test_a_modem_enabled_again_shows_ready(api: Api) -> None:
    api.patch("/v1/modems/sim1", json={"enabled": False})
    wait_for(lambda: api.modems()["sim1"]["state"] == "disabled", 5, "sim1 disabled")
    api.patch("/v1/modems/sim1", json={"enabled": True})
    api.wait_delivered(api.send("through sim1", modem="sim1")["id"])
    assert api.modems()["sim1"]["state"] == "ready"


def test_a_message_for_a_disabled_modem_waits_for_it(api: Api) -> None:
    api.patch("/v1/modems/sim1", json={"enabled": False})
    pinned = api.send("only through sim1", modem="sim1")
    other = api.send("anywhere")
    api.wait_delivered(other["id"])
    assert api.message(pinned["id"])["status"] == "queued"
    api.patch("/v1/modems/sim1", json={"enabled": True})
    assert api.wait_delivered(pinned["id"])["modem"] == "sim1"


def test_drain_finishes_the_message_in_hand_then_takes_no_more(api: Api) -> None:
    api.post("/v1/simulator/faults", json={"modem": "sim1", "submit_delay": 0.3})
    long = api.send("a long message for sim1 " * 20, modem="sim1")  # 4 parts, 0.3 s each
    wait_for(lambda: api.message(long["id"])["status"] == "sending", 5, "sim1 sending")

    drained = api.patch("/v1/modems/sim1", json={"drain": True})
    assert drained.status_code == 200

    later = [api.send(f"after the drain {i}")["id"] for i in range(4)]
    done = api.wait_delivered(long["id"])
    assert {p["modem"] for p in done["parts"]} == {"sim1"}
    assert {api.wait_delivered(i)["modem"] for i in later} == {"sim2"}
    assert api.modems()["sim1"]["state"] == "draining"


def test_a_rate_change_shows_in_pacing(api: Api) -> None:
    patched = api.patch("/v1/modems/sim2", json={"sends_per_minute": 30, "burst": 2, "daily_cap": 50})
    assert patched.status_code == 200
    pacing = patched.json()["pacing"]
    assert pacing["sends_per_minute"] == 30 and pacing["effective_per_minute"] == 30
    assert pacing["burst"] == 2 and pacing["tokens"] <= 2 and pacing["daily_cap"] == 50
    assert api.modems()["sim2"]["pacing"]["burst"] == 2
    assert api.modems()["sim1"]["pacing"]["burst"] == 10


@pytest.mark.parametrize(
    "body, field",
    [
        ({"sends_per_minute": 0}, "sends_per_minute"),
        ({"sends_per_minute": 601}, "sends_per_minute"),
        ({"burst": 0}, "burst"),
        ({"daily_cap": -1}, "daily_cap"),
        ({"enabled": "perhaps"}, "enabled"),
    ],
)
def test_bad_modem_changes_are_422(shared_api: Api, body: dict, field: str) -> None:
    error = assert_error(shared_api.patch("/v1/modems/sim1", json=body), 422, "invalid_request")
    assert error_fields(error) == {field}
    assert shared_api.modems()["sim1"]["pacing"]["sends_per_minute"] == 600


def test_unknown_modem_is_404(shared_api: Api) -> None:
    assert_error(shared_api.get("/v1/modems/sim9"), 404, "not_found")
    assert_error(shared_api.patch("/v1/modems/sim9", json={"enabled": False}), 404, "not_found")


def test_a_failing_modem_leaves_its_work_to_the_other(api: Api) -> None:
    faults = api.post("/v1/simulator/faults", json={"modem": "sim1", "cms_error": 500, "cms_error_count": 0})
    assert faults.status_code == 200 and faults.json()["cms_error"] == 500
    # sim1 alone first, so that it certainly meets the error.
    api.patch("/v1/modems/sim2", json={"enabled": False})
    ids = [api.send("first")["id"]]
    wait_for(lambda: api.modems()["sim1"]["counters"]["retried"] >= 1, 10, "sim1 failing a send")
    api.patch("/v1/modems/sim2", json={"enabled": True})

    ids += [api.send(f"message {i}")["id"] for i in range(9)]

    def all_delivered() -> bool:
        statuses = [api.message(i)["status"] for i in ids]
        assert "failed" not in statuses, statuses
        if all(s == "delivered" for s in statuses):
            return True
        # A failed attempt waits before the next one (outbox.RetryPolicy); move the
        # gateway's wall clock on so the retry is due now.
        api.clock.advance(minutes=2)
        return False

    wait_for(all_delivered, 15, "all delivered", every=0.2)
    done = [api.message(i) for i in ids]
    assert Counter(m["modem"] for m in done) == Counter({"sim2": 10})
    sim1 = api.modems()["sim1"]
    assert sim1["counters"]["sent_parts"] == 0 and sim1["counters"]["retried"] >= 1
    assert sim1["last_error"]
    # The first message met the error on its way: in its history, no longer its last_error.
    assert any("500" in (a["error"] or "") for a in done[0]["attempt_history"]) and done[0]["last_error"] is None


def test_a_modem_that_keeps_failing_shows_as_faulty(api: Api) -> None:
    api.patch("/v1/modems/sim2", json={"enabled": False})
    api.post("/v1/simulator/faults", json={"modem": "sim1", "cms_error": 500, "cms_error_count": 0})
    message = api.send("nowhere to go")

    def faulty() -> dict | None:
        sim1 = api.modems()["sim1"]
        if sim1["state"] == "faulty":
            return sim1
        api.clock.advance(minutes=2)
        return None

    # CMS 500 is vague: once is a retry on the same modem, again is a modem fault.
    sim1 = wait_for(faulty, 10, "sim1 shown as faulty", every=0.1)
    assert sim1["counters"]["faults"] >= 1 and sim1["counters"]["retried"] >= 2
    assert sim1["counters"]["sent_parts"] == 0 and "500" in sim1["last_error"]
    assert api.message(message["id"])["last_error"]


@pytest.mark.parametrize(
    "body",
    [{"modem": "sim1", "cms_error": "lots"}, {"modem": "sim1", "no_such_fault": True}, {"modem": "sim1", "hang": 3}],
)
def test_bad_faults_are_422(shared_api: Api, body: dict) -> None:
    assert_error(shared_api.post("/v1/simulator/faults", json=body), 422, "invalid_request")


def test_faults_for_an_unknown_modem_are_404(shared_api: Api) -> None:
    assert_error(shared_api.post("/v1/simulator/faults", json={"modem": "sim9", "hang": True}), 404, "not_found")
    assert_error(shared_api.post("/v1/simulator/faults", json={"hang": True}), 404, "not_found")


def test_simulated_modems_of_other_makers_are_named_in_their_port(tmp_path) -> None:
    from gateway.core.settings import ModemSettings, Settings
    from tests.support.api import running_api

    modems = [
        ModemSettings(id="stick", port="sim://stick?profile=huawei-e3372", sends_per_minute=600, burst=10, daily_cap=0),
        ModemSettings(
            id="module", port="sim://module?profile=quectel-ec25", sends_per_minute=600, burst=10, daily_cap=0
        ),
    ]
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'modemgate.db'}", default_region="NL", modems=modems)
    with running_api(settings) as api:
        listed = api.modems()
        assert {i: (m["identity"]["manufacturer"]) for i, m in listed.items()} == {
            "stick": "huawei",
            "module": "Quectel",
        }
        for modem_id in ("stick", "module"):  # each one sends
            api.patch(f"/v1/modems/{'module' if modem_id == 'stick' else 'stick'}", json={"enabled": False})
            api.patch(f"/v1/modems/{modem_id}", json={"enabled": True})
            sent = api.send(f"via {modem_id}", to="+31612345670")
            assert api.wait_delivered(sent["id"])["parts"][0]["modem"] == modem_id
