"""300 mixed messages through `modemgate serve` and three simulated modems over TCP."""

from __future__ import annotations

import time
from collections import Counter, defaultdict

import pytest

from harness.livegateway import ModemSpec, journal_messages, mixed_messages, rate_violations

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

RATE = 600  # parts per minute per modem: high, but the bucket still has to pace
BURST = 5
# Time between a worker taking a token and the simulator stamping the part (loopback TCP,
# two processes on two cores): a part stamped this much late may look early next to others.
STAMP_JITTER = 0.1


def test_mixed_messages_all_delivered_exactly_once_each_through_one_modem_within_its_rate(
    simulator, gateway, sqlite_url
):
    sim = simulator(3)
    modems = [ModemSpec(f"modem-{i}", url, RATE, BURST) for i, url in enumerate(sim.urls.values(), 1)]
    by_sim_id = {sim_id: spec.id for sim_id, spec in zip(sim.urls, modems, strict=True)}
    gw = gateway(sqlite_url, modems).start()
    gw.wait_ready(by_sim_id.values())

    messages = mixed_messages(300)
    started = time.monotonic()
    ids = gw.submit_all(messages)
    submitted = time.monotonic() - started
    assert len(ids) == 300
    gw.wait_all(ids, "delivered", timeout=90)

    journal = sim.journal()
    joined = journal_messages(journal)
    # Exactly the texts sent, each once: no part lost, none doubled, every part joined.
    assert Counter((m["recipient"], m["text"]) for m in joined) == Counter(messages)
    assert len(journal) == sum(m["parts"] for m in joined)
    # Every message's parts came from one modem; and a multipart message really was multipart.
    assert all(len(m["modems"]) == 1 for m in joined)
    parts = Counter(m["parts"] for m in joined)
    assert parts[1] >= 100 and sum(n for k, n in parts.items() if k > 1) >= 200
    assert {e["encoding"] for e in journal} == {"gsm7", "ucs2"}
    assert all(e["status_report_request"] for e in journal)

    # The work was shared, and no modem went faster than its bucket lets it.
    times = defaultdict(list)
    for e in journal:
        times[e["modem"]].append(e["t"])
    assert set(times) == set(sim.urls)
    for sim_id, ts in times.items():
        bad = rate_violations(ts, RATE, BURST, jitter=STAMP_JITTER)
        assert not bad, f"{sim_id} ({by_sim_id[sim_id]}) exceeded {RATE}/min burst {BURST}: {bad[:5]}"
    span = max(e["t"] for e in journal) - min(e["t"] for e in journal)
    print(
        f"\n300 messages submitted in {submitted:.1f} s; {len(journal)} parts sent in {span:.1f} s "
        f"({len(journal) / span * 60:.0f}/min, configured {3 * RATE}/min); per modem "
        f"{dict(sorted((by_sim_id[k], len(v)) for k, v in times.items()))}"
    )

    # What the API says of each message agrees with the journal.
    for message_id in ids[:30]:
        m = gw.message(message_id)
        assert m["status"] == "delivered"
        assert len({p["modem"] for p in m["parts"]}) == 1
        assert all(p["status"] == "delivered" for p in m["parts"]), m["parts"]
