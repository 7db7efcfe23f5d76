"""Three of four modems go bad mid-run: one errors, one hangs, one drops off the bus."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from harness.livegateway import ModemSpec, journal_messages, mixed_messages
from harness.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_erroring_hanging_and_vanishing_modems_leave_everything_to_the_healthy_one(simulator, gateway, sqlite_url):
    sim = simulator(4)
    sims = list(sim.urls)  # sim1..sim4
    names = {"sim1": "erroring", "sim2": "hanging", "sim3": "vanishing", "sim4": "healthy"}
    gw = gateway(sqlite_url, [ModemSpec(names[s], sim.urls[s], 600, 3) for s in sims]).start()
    gw.wait_ready(names.values())
    # Reports for what the one that will hang sends come 2 s late, so some are still due
    # when it hangs (the one that vanishes may also take a report with it, by chance).
    sim.set_faults("sim2", report_delay=2.0)

    messages = mixed_messages(120)
    started = time.monotonic()
    ids = gw.submit_all(messages)
    # Let every modem take some of the work, then break three of them.
    wait_until(
        lambda: set(sims) <= {e["modem"] for e in sim.journal()} and sim.journal_count() >= 40,
        timeout=30,
        what="every modem to have sent something",
    )
    sim.set_faults("sim1", cms_error=500, cms_error_count=0)  # every send from now on
    sim.set_faults("sim2", hang=True)
    sim.set_faults("sim3", disconnect=True)
    broken_at = sim.journal_count()

    # Everything goes out through the healthy modem ...
    first = gw.wait_all(ids, ("sent", "delivered"), timeout=90)
    elapsed = time.monotonic() - started
    waiting = sum(1 for i in ids if first[i] == "sent")
    assert waiting >= 1  # sent through a modem that broke before its report came
    modems = {m["id"]: m for m in gw.modems()}

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

    for name in ("erroring", "hanging", "vanishing"):
        m = modems[name]
        assert m["state"] == "faulty", m
        assert m["counters"]["faults"] >= 1, m
        assert m["last_error"], m
    assert "500" in modems["erroring"]["last_error"]
    assert modems["healthy"]["state"] == "ready"
    assert modems["healthy"]["counters"]["faults"] == 0
    # ... and is delivered. A status report for a part a modem sent just before it hung or
    # vanished waits in that modem (its storage, or its unsent output) until it is back.
    for sim_id in ("sim1", "sim2", "sim3"):
        sim.clear_faults(sim_id)  # back on the bus / answering again
    clock = time.monotonic()
    gw.wait_all(ids, "delivered", timeout=70)
    recovered = time.monotonic() - clock
    assert sim.journal_count() == len(journal)  # nothing was left to send again
    print(
        f"\n{len(ids)} messages delivered in {elapsed:.1f} s; parts before the faults {broken_at}, after {dict(after)}, "
        f"resent whole after a partial send {len(orphaned)}; {waiting} waited for a report from a broken modem, "
        f"delivered {recovered:.1f} s after the modems came back; "
        + "; ".join(
            f"{n}: {m['state']}, {m['counters']['faults']} faults, {m['last_error']!r}" for n, m in modems.items()
        )
    )


def test_new_work_does_not_hurry_the_reconnect_backoff_of_a_vanished_modem(simulator, gateway, sqlite_url):
    sim = simulator(2)
    gw = gateway(sqlite_url, [ModemSpec("gone", sim.urls["sim1"]), ModemSpec("here", sim.urls["sim2"])]).start()
    gw.wait_ready(["gone", "here"])
    sim.set_faults("sim1", disconnect=True)
    wait_until(lambda: "cannot open" in gw.log(), timeout=10, what="a first reconnect attempt")
    tried = gw.log(tail=None).count("cannot open")
    started = time.monotonic()
    messages = [(f"+3165{i:07d}", f"one of many {i}") for i in range(40)]
    ids = gw.submit_all(messages, concurrency=1)  # every submission wakes the workers
    gw.wait_all(ids, ("sent", "delivered"), timeout=30)
    elapsed = time.monotonic() - started
    attempts = gw.log(tail=None).count("cannot open") - tried
    # Backoff 1 s, 2 s, 4 s …: a handful of attempts in these seconds, not one per message.
    assert attempts <= 2 + elapsed / 2, f"{attempts} reconnect attempts in {elapsed:.1f} s"
    assert {m["id"]: m["state"] for m in gw.modems()} == {"gone": "faulty", "here": "ready"}
