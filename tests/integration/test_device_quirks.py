"""`modemgate modems probe` and `modemgate serve` on simulated modems with real devices'
habits (docs/modem-quirks.md), over a pty and over TCP:

- wavecom-multiband: AT+CPIN? without OK, AT+CPMS with two memories offered as a nested
  list, no AT+CGMR, +CME ERROR: 515 while starting up;
- nokia-phone: a plain ERROR to the storage listing (AT+CMGL=4);
- huawei-e3131: unsolicited ^NWTIME / ^RSSI / ^MODE / ^BOOT lines inside answers;
- cinterion-mc75i: AT+CNMI with <bfr>=0 refused (+CMS ERROR: 538);
- simcom-sim800-cold: +CME ERROR: 14 (SIM busy) to AT+CPIN? after power-on.

Each modem gets through the probe with its maker and model right, sends its messages once
each, sees them `delivered`, reads a reply within seconds of its +CMTI, and stays `ready`.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest

from harness.command import MODEMGATE
from harness.livegateway import ModemSpec, journal_messages
from harness.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

# profile -> (manufacturer, model) as the probe and GET /v1/modems show them
DEVICES = {
    "wavecom-multiband": ("WAVECOM MODEM", "MULTIBAND  900E  1800"),
    "nokia-phone": ("Nokia", "Nokia 6230i"),
    "huawei-e3131": ("huawei", "E3131"),
    "cinterion-mc75i": ("Cinterion", "MC75i"),
    "simcom-sim800-cold": ("SIMCOM_Ltd", "SIMCOM_SIM800"),
}
PROFILES = list(DEVICES)


@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_devices_with_quirks_probe_send_report_and_receive_through_serve(
    simulator, gateway, sqlite_url, transport: str
) -> None:
    options = ("--pty", *(arg for name in PROFILES for arg in ("--profile", name)))
    sim = simulator(len(PROFILES), options=options)
    ports = sim.ptys if transport == "pty" else sim.urls
    profile_of = {f"sim{i}": name for i, name in enumerate(PROFILES, 1)}

    # The probe first, on modems just powered on (the start-up busy answers come now).
    probes = {
        modem: subprocess.Popen(
            [*MODEMGATE, "modems", "probe", ports[modem], "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for modem in profile_of
    }
    # The gateway's settings and API key meanwhile (started once the probes let go of the ports).
    specs = [ModemSpec(profile_of[m], ports[m], 600, 5) for m in profile_of]
    gw = gateway(sqlite_url, specs)
    for modem, proc in probes.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, (profile_of[modem], err.decode())
        info = json.loads(out)
        assert (info["manufacturer"], info["model"]) == DEVICES[profile_of[modem]]
        assert info["pin"] == "READY"
        assert info["storage"].startswith('"SM",0,'), info  # the answer's own line, not a vendor's
        assert info["status_reports"] is True, info

    gw.start()
    gw.wait_ready(PROFILES, timeout=30)
    modems = {m["id"]: m for m in gw.modems()}
    assert {i: (m["identity"]["manufacturer"], m["identity"]["model"]) for i, m in modems.items()} == DEVICES
    assert {i: m["status_reports"] for i, m in modems.items()} == dict.fromkeys(PROFILES, True)

    messages = {}
    for n, name in enumerate(PROFILES):
        for text in (f"{name}: one part", f"{name}: " + "several parts " * 20):  # one part, then two
            to = f"+3165{n:04d}{len(messages):03d}"
            r = gw.client.post("/v1/messages", json={"to": to, "text": text, "modem": name})
            assert r.status_code == 202, r.text
            messages[r.json()["id"]] = (to, text)
    for modem, name in profile_of.items():
        sim.inbound(modem, "+31611110000", f"reply to {name}")

    gw.wait_all(messages, "delivered", timeout=40)
    joined = journal_messages(sim.journal())
    assert Counter((m["recipient"], m["text"]) for m in joined) == Counter(messages.values())  # each once, whole

    def inbox() -> set[str]:
        return {m["text"] for m in gw.client.get("/v1/inbox").json()["items"] if m["complete"]}

    # Read on the +CMTI, well before the first storage poll after start-up would find it.
    wait_until(lambda: len(inbox()) == len(PROFILES), timeout=10, what="every reply in the inbox", last=inbox)
    assert inbox() == {f"reply to {name}" for name in PROFILES}
    # Read and deleted: nothing left in any modem's memory.
    wait_until(
        lambda: all(set(m["storage"].values()) == {0} for m in sim.modems()),
        timeout=10,
        what="replies deleted from the modems",
        last=sim.modems,
    )

    modems = {m["id"]: m for m in gw.modems()}
    assert {i: m["state"] for i, m in modems.items()} == dict.fromkeys(PROFILES, "ready"), modems
    assert all(m["counters"]["faults"] == 0 for m in modems.values()), modems
