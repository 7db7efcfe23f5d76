"""A node of several on one PostgreSQL database is SIGKILLed mid-run: nothing is lost, and
only the parts its modems had in flight may go twice."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from harness.livegateway import ModemSpec, journal_messages, part_key
from harness.queueload import OPEN_WINDOW, queue_marketing
from harness.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

LEASE = 5.0  # seconds: message and modem leases, short for instant simulated modems
MESSAGES = 150


def test_a_killed_node_loses_nothing_and_doubles_at_most_its_parts_in_flight(simulator, gateway, postgres_url):
    queued = queue_marketing(postgres_url, MESSAGES)  # waiting before either node starts
    sims = {"a": simulator(2, name="sim-a"), "b": simulator(2, name="sim-b")}
    gws = {}
    key = None
    for name, sim in sims.items():
        specs = [ModemSpec(f"{name}-{s}", url, "unlimited", 5, not_a_sim=True) for s, url in sim.urls.items()]
        settings = {"node_id": f"node-{name}", "modem_lease": LEASE, "message_lease": LEASE}
        gws[name] = gateway(postgres_url, specs, name=f"gw-{name}", key=key, extra=OPEN_WINDOW, **settings)
        key = gws[name].key
    for gw in gws.values():
        gw.start()

    def sent() -> int:
        return sims["a"].journal_count() + sims["b"].journal_count()

    wait_until(lambda: sent() >= MESSAGES // 3, timeout=60, interval=0.01, what="a third of the messages")
    gws["b"].kill()
    killed_at = time.monotonic()
    # Node a goes on alone: what b held unpinned comes to a's modems once b's lease lapses.
    wait_until(lambda: sent() >= MESSAGES, timeout=60, interval=0.2, what="every message sent")
    assert time.monotonic() - killed_at >= LEASE or sims["a"].journal_count() > 0
    gws["b"].start()  # as its supervisor would; it has nothing left to do, or resumes its own

    journal = sims["a"].journal() + sims["b"].journal()
    joined = journal_messages(journal)
    assert Counter((m["recipient"], m["text"]) for m in joined) >= Counter(queued)  # nothing lost
    twice = sum(n - 1 for n in Counter(part_key(e) for e in journal).values())
    # One AT+CMGS at a time per modem: b's two modems had at most two parts in flight.
    assert twice <= len(sims["b"].urls), twice
    # Node a sent b's share after the kill: more than half of everything went through it.
    assert sims["a"].journal_count() > MESSAGES // 2
