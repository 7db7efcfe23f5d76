"""Two `modemgate serve` processes on one PostgreSQL database, each with its own modems."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from harness.livegateway import ModemSpec, journal_messages, mixed_messages, part_key

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_two_gateways_on_one_postgres_database_send_every_part_once(simulator, gateway, postgres_url):
    sims = {"a": simulator(2, name="sim-a"), "b": simulator(2, name="sim-b")}
    gws = {}
    key = None
    for name, sim in sims.items():
        specs = [ModemSpec(f"{name}-{sim_id}", url, 600, 5) for sim_id, url in sim.urls.items()]
        gws[name] = gateway(postgres_url, specs, name=f"gw-{name}", key=key)
        key = gws[name].key  # one database, one key: both gateways take the same caller
    for gw in gws.values():
        gw.start()
    for name, gw in gws.items():
        gw.wait_ready(f"{name}-{sim_id}" for sim_id in sims[name].urls)

    # Submitted to both at once; either gateway's modems may send any message.
    batches = {"a": mixed_messages(75, prefix="a"), "b": mixed_messages(75, prefix="b", number_base=100)}
    ids: dict[str, list[str]] = {}

    def submit(name: str) -> None:
        ids[name] = gws[name].submit_all(batches[name], concurrency=4)

    threads = [threading.Thread(target=submit, args=(n,)) for n in gws]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = ids["a"] + ids["b"]
    assert len(set(everything)) == 150
    statuses = gws["a"].wait_all(everything, "delivered", timeout=90)
    assert statuses == gws["b"].statuses()  # one database

    journal = sims["a"].journal() + sims["b"].journal()
    seen = Counter(part_key(e) for e in journal)
    assert max(seen.values()) == 1, [k for k, n in seen.items() if n > 1][:5]  # no part sent twice
    joined = journal_messages(journal)
    assert Counter((m["recipient"], m["text"]) for m in joined) == Counter(batches["a"] + batches["b"])
    assert all(len(m["modems"]) == 1 for m in joined)

    # Each gateway's modems did work, and a message's modem is one of the sending gateway's.
    by_sim = Counter(e["modem"] for e in sims["a"].journal()), Counter(e["modem"] for e in sims["b"].journal())
    assert all(sum(c.values()) > 0 for c in by_sim), by_sim
    modems_used = Counter(gws["a"].message(i)["modem"].split("-")[0] for i in everything[::10])
    print(
        f"\nparts per simulator: a {dict(by_sim[0])}, b {dict(by_sim[1])}; sample of messages by gateway {dict(modems_used)}"
    )
