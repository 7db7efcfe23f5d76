"""`modemgate serve` on modems of two makers that fill the line with unsolicited noise
(Huawei ^RSSI / ^HCSQ / ^DSFLOWRPT, Quectel +QIND) several times a second."""

from __future__ import annotations

from collections import Counter

import pytest

from harness.livegateway import ModemSpec, journal_messages, mixed_messages
from harness.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

NOISE = ("--noise-every", "0.05")


def test_unsolicited_noise_from_two_makers_costs_no_message_report_or_reply(simulator, gateway, sqlite_url):
    huawei = simulator(2, name="huawei", options=("--profile", "huawei-e3372", *NOISE))
    quectel = simulator(1, name="quectel", options=("--profile", "quectel-ec25", *NOISE))
    specs = [ModemSpec(f"huawei-{s}", url, 600, 5) for s, url in huawei.urls.items()]
    specs += [ModemSpec(f"quectel-{s}", url, 600, 5) for s, url in quectel.urls.items()]
    gw = gateway(sqlite_url, specs).start()
    gw.wait_ready(s.id for s in specs)

    messages = mixed_messages(60)
    ids = gw.submit_all(messages)
    huawei.inbound("sim1", "+31611112222", "reply through the noise")
    quectel.inbound("sim1", "+31633334444", "and through Quectel's: " + "ж" * 80)  # 2 UCS-2 parts
    gw.wait_all(ids, "delivered", timeout=60)

    joined = journal_messages(huawei.journal() + quectel.journal())
    assert Counter((m["recipient"], m["text"]) for m in joined) == Counter(messages)  # each once, whole
    assert all(len(m["modems"]) == 1 for m in joined)
    assert {e["modem"] for e in quectel.journal()} and {e["modem"] for e in huawei.journal()}  # both makers sent

    def inbox() -> dict[str, str]:
        return {m["sender"]: m["text"] for m in gw.client.get("/v1/inbox").json()["items"] if m["complete"]}

    wait_until(lambda: len(inbox()) == 2, timeout=20, what="both replies in the inbox")
    assert inbox() == {"+31611112222": "reply through the noise", "+31633334444": "and through Quectel's: " + "ж" * 80}

    modems = {m["id"]: m for m in gw.modems()}
    assert {m["state"] for m in modems.values()} == {"ready"}, modems
    assert all(m["counters"]["faults"] == 0 for m in modems.values()), modems
    makers = {i: m["identity"]["manufacturer"] for i, m in modems.items()}
    assert makers == {s.id: ("Quectel" if s.id.startswith("quectel") else "huawei") for s in specs}
    # The noise really flowed all along: many lines per modem, while it was sending.
    assert all(m["noise_sent"] >= 20 for m in huawei.modems() + quectel.modems())
