"""`modemgate serve` killed with SIGKILL in the middle of a 1,000-message run, then restarted."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from harness.livegateway import ModemSpec, journal_messages, part_key
from harness.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

MODEMS = 6


def thousand_messages() -> list[tuple[str, str]]:
    """Mostly single parts (to keep the run short), every tenth message multipart."""
    out = []
    for i in range(1000):
        to = f"+3165{i:07d}"
        if i % 20 == 0:
            text = f"{i}: " + " ".join(f"long{j}" for j in range(40))  # 2 GSM-7 parts
        elif i % 20 == 10:
            text = f"{i}: Привет 😀 " + "ж" * 80  # 2 UCS-2 parts
        else:
            text = f"{i}: your code is {100000 + i}"
        out.append((to, text))
    return out


def test_sigkill_mid_run_loses_nothing_and_doubles_only_parts_in_flight(simulator, gateway, sqlite_url, capsys):
    sim = simulator(MODEMS)
    ids_by_sim = {sim_id: f"modem-{n}" for n, sim_id in enumerate(sim.urls, 1)}
    specs = [ModemSpec(ids_by_sim[s], url, 600, 5) for s, url in sim.urls.items()]
    gw = gateway(sqlite_url, specs).start()
    gw.wait_ready(ids_by_sim.values())

    # Everything is queued (committed, 202) before anything is sent.
    for modem_id in ids_by_sim.values():
        gw.patch_modem(modem_id, enabled=False)
    messages = thousand_messages()
    clock = time.monotonic()
    ids = gw.submit_all(messages)
    submitted = time.monotonic() - clock
    assert len(set(ids)) == 1000
    total_parts = sum(gw.message(i)["parts_total"] for i in ids[:20]) * 50  # the pattern repeats every 20
    for modem_id in ids_by_sim.values():
        gw.patch_modem(modem_id, enabled=True)

    wait_until(
        lambda: sim.journal_count() >= 0.3 * total_parts, timeout=60, interval=0.02, what="30 % of the parts sent"
    )
    gw.kill()
    killed = time.monotonic() - clock
    before = sim.journal()
    # Parts in flight at the kill: each modem's last part before it (any later one in the
    # journal was still being accepted by the simulator as the gateway died).
    last_before: dict[str, dict] = {}
    for e in before:
        last_before[e["modem"]] = e

    gw.start()
    gw.wait_all(ids, "delivered", timeout=100)
    finished = time.monotonic() - clock

    journal = sim.journal()
    joined = journal_messages(journal)
    texts = Counter((m["recipient"], m["text"]) for m in joined)
    assert set(texts) == set(messages), "a message was lost"
    seen = Counter(part_key(e) for e in journal)
    doubled = {k: n for k, n in seen.items() if n > 1}
    # At most one part per modem was between AT+CMGS and its commit: only those go twice.
    assert sum(n - 1 for n in doubled.values()) <= MODEMS, doubled
    in_flight = {part_key(e) for e in last_before.values()}
    assert set(doubled) <= in_flight, (doubled, in_flight)
    # A doubled part went twice; its message is still whole, once, on one modem.
    assert all(len(m["modems"]) == 1 for m in joined)
    with capsys.disabled():
        print(
            f"\nkilled after {len(before)} of {total_parts} parts; after restart {len(journal) - len(before)} more; "
            f"parts sent twice: {len(doubled)} (bound {MODEMS}); messages lost: {len(set(messages) - set(texts))}; "
            f"submitted in {submitted:.1f} s, killed at {killed:.1f} s, all delivered at {finished:.1f} s"
        )
