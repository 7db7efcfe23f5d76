"""`modemgate serve` killed with SIGKILL while sequence steps are due, then restarted:
every step of every enrollment goes out, none is queued twice."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from harness.livegateway import ModemSpec, journal_messages
from harness.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PEOPLE = 30
STEPS = [(0, "Step one for {{number}}"), (2, "Step two for {{number}}"), (4, "Step three for {{number}}")]


def test_sigkill_with_steps_due_loses_none_and_queues_none_twice(simulator, gateway, sqlite_url):
    sim = simulator(2)
    specs = [ModemSpec(f"modem-{n}", url, 600, 10) for n, url in enumerate(sim.urls.values(), 1)]
    gw = gateway(sqlite_url, specs).start()
    gw.wait_ready([s.id for s in specs])
    created = gw.client.post(
        "/v1/sequences",
        json={"name": "onboarding", "category": "transactional", "trigger_event": "signed_up",
              "steps": [{"delay_seconds": d, "template": t} for d, t in STEPS]},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    numbers = [f"+3162{i:07d}" for i in range(PEOPLE)]
    for number in numbers:
        r = gw.client.post("/v1/events", json={"number": number, "name": "signed_up"})
        assert r.status_code == 201, r.text
    # Killed with step one being queued and sent, steps two and three still to come.
    wait_until(lambda: sim.journal_count() >= 5, timeout=30, interval=0.02, what="the first steps going out")
    gw.kill()
    time.sleep(4)  # every remaining step is due when the gateway comes back

    gw.start()
    expected = {(n, t.replace("{{number}}", n)) for n in numbers for _, t in STEPS}
    wait_until(
        lambda: {(m["recipient"], m["text"]) for m in journal_messages(sim.journal())} >= expected,
        timeout=90,
        what="every step of every enrollment sent",
    )
    sent = Counter((m["recipient"], m["text"]) for m in journal_messages(sim.journal()))
    assert set(sent) == expected
    # The outbox may send again the one part per modem that was inside AT+CMGS at the kill;
    # the scheduler itself queued each step once.
    assert sum(n - 1 for n in sent.values()) <= len(specs), {k: n for k, n in sent.items() if n > 1}
    analytics = gw.client.get("/v1/sequences/1").json()["analytics"]
    assert [a["queued"] for a in analytics] == [PEOPLE] * 3
