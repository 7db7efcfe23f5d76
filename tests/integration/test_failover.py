"""Three of four modems go bad mid-run: one errors, one hangs, one drops off the bus."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from livegateway import ModemSpec, journal_messages, mixed_messages, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_erroring_hanging_and_vanishing_modems_leave_everything_to_the_healthy_one(
    simulator, gateway, sqlite_url
):
    sim = simulator(4)
    sims = list(sim.urls)  # sim1..sim4
    names = {"sim1": "erroring", "sim2": "hanging", "sim3": "vanishing", "sim4": "healthy"}
    gw = gateway(sqlite_url, [ModemSpec(names[s], sim.urls[s], 600, 3) for s in sims]).start()
    gw.wait_ready(names.values())

    messages = mixed_messages(120)
    started = time.monotonic()
    ids = gw.submit_all(messages)
    # Let every modem take some of the work, then break three of them.
    wait_until(lambda: set(sims) <= {e["modem"] for e in sim.journal()} and sim.journal_count() >= 40,
               timeout=30, what="every modem to have sent something")
    sim.set_faults("sim1", cms_error=500, cms_error_count=0)  # every send from now on
    sim.set_faults("sim2", hang=True)
    sim.set_faults("sim3", disconnect=True)
    broken_at = sim.journal_count()

    gw.wait_all(ids, "delivered", timeout=90)
    elapsed = time.monotonic() - started

    journal = sim.journal()
    orphans: list = []
    joined = journal_messages(journal, orphans)
    # Every message reached the network whole, once, through one modem.
    assert Counter((m["recipient"], m["text"]) for m in joined) == Counter(messages)
    assert all(len(m["modems"]) == 1 for m in joined)
    # Besides: the first parts of multipart messages a modem was sending when it broke,
    # which then went again whole (new concatenation reference) through the healthy one.
    # At most one message per broken modem, every part of it sent before the break.
    orphaned = {(e["modem"], e["recipient"]) for e in orphans}
    assert len(orphaned) <= 3 and {m for m, _ in orphaned} <= {"sim1", "sim2", "sim3"}, orphans
    assert all(journal.index(e) < broken_at for e in orphans)
    after = Counter(e["modem"] for e in journal[broken_at:])
    # A part the erroring modem refused never reached the network; the others went silent.
    assert set(after) == {"sim4"}, after

    modems = {m["id"]: m for m in gw.modems()}
    for name in ("erroring", "hanging", "vanishing"):
        m = modems[name]
        assert m["state"] == "faulty", m
        assert m["counters"]["faults"] >= 1, m
        assert m["last_error"], m
    assert "500" in modems["erroring"]["last_error"]
    assert modems["healthy"]["state"] == "ready"
    assert modems["healthy"]["counters"]["faults"] == 0
    print(
        f"\n{len(ids)} messages delivered in {elapsed:.1f} s; parts before the faults {broken_at}, after {dict(after)}, "
        f"resent whole after a partial send {len(orphaned)}; "
        + "; ".join(f"{n}: {m['state']}, {m['counters']['faults']} faults, {m['last_error']!r}" for n, m in modems.items())
    )
