"""`modemgate serve` stopped with SIGTERM in the middle of multipart sends on a slow network,
then restarted; and a second `modemgate serve` on the same SQLite file."""

from __future__ import annotations

from collections import Counter

import pytest

from harness.livegateway import ModemSpec, journal_messages, part_key
from harness.stopstate import left_in_the_middle
from harness.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def long_messages(n: int, *, words: int = 140, prefix: str = "") -> list[tuple[str, str]]:
    """`n` multipart GSM-7 messages (6 parts with 140 words), each to its own number."""
    return [(f"+3166{i:07d}", f"{prefix}{i}: " + " ".join(f"w{i}x{j}" for j in range(words))) for i in range(n)]


def slow_network(simulator, modems: int = 2, *, submit_delay: float):
    """Simulated modems whose network takes `submit_delay` seconds to answer each AT+CMGS
    (the part is in the network's journal at once: it is out, its MR not yet known)."""
    sim = simulator(modems)
    for modem in sim.urls:
        sim.set_faults(modem, submit_delay=submit_delay)
    specs = [ModemSpec(f"modem-{n}", url, 600, 5) for n, url in enumerate(sim.urls.values(), 1)]
    return sim, specs


def assert_every_part_once(journal, messages) -> None:
    seen = Counter(part_key(e) for e in journal)
    assert max(seen.values()) == 1, [k[:3] for k, n in seen.items() if n > 1][:5]  # no part sent twice
    joined = journal_messages(journal)
    assert Counter((m["recipient"], m["text"]) for m in joined) == Counter(messages)  # every message, whole
    assert all(len(m["modems"]) == 1 for m in joined)  # each through one modem


def test_sigterm_mid_multipart_finishes_the_messages_in_hand_exits_0_and_restart_sends_nothing_twice(
    simulator, gateway, sqlite_url
):
    sim, specs = slow_network(simulator, submit_delay=0.4)
    gw = gateway(sqlite_url, specs).start()  # drain_timeout: the default 30 s
    gw.wait_ready(s.id for s in specs)
    messages = long_messages(8)
    ids = gw.submit_all(messages)
    wait_until(lambda: sim.journal_count() >= 7, timeout=60, interval=0.05, what="parts going out")

    assert gw.terminate(timeout=60) == 0, gw.log()
    stopped = sim.journal()
    assert left_in_the_middle(sqlite_url) == {"messages sending": 0, "parts sending": 0, "queued with parts sent": 0}
    assert "drained in" in gw.log(), gw.log()
    # Every multipart message the network had started was finished before the exit.
    orphans: list[dict] = []
    journal_messages(stopped, orphans)
    assert orphans == [], orphans

    gw.start()
    gw.wait_all(ids, "delivered", timeout=120)
    assert_every_part_once(sim.journal(), messages)


def test_sigterm_with_a_short_grace_gives_messages_back_between_parts_and_restart_sends_only_the_rest(
    simulator, gateway, sqlite_url
):
    sim, specs = slow_network(simulator, submit_delay=0.7)
    gw = gateway(sqlite_url, specs, drain_timeout=1).start()
    gw.wait_ready(s.id for s in specs)
    messages = long_messages(6)
    ids = gw.submit_all(messages)
    wait_until(lambda: sim.journal_count() >= 3, timeout=60, interval=0.05, what="parts going out")

    assert gw.terminate(timeout=60) == 0, gw.log()
    left = left_in_the_middle(sqlite_url)
    assert left["messages sending"] == 0 and left["parts sending"] == 0, left
    assert left["queued with parts sent"] >= 1, (left, gw.log())  # cut between parts, not in one
    stopped = sim.journal()

    gw.start()
    gw.wait_all(ids, "delivered", timeout=120)
    journal = sim.journal()
    assert_every_part_once(journal, messages)
    assert len(journal) > len(stopped)


def test_a_second_gateway_on_the_same_sqlite_file_refuses_to_start_and_the_first_sends_each_part_once(
    simulator, gateway, sqlite_url
):
    sim, specs = slow_network(simulator, submit_delay=0.3)
    first = gateway(sqlite_url, specs, name="first").start()
    first.wait_ready(s.id for s in specs)
    messages = long_messages(6, words=60)  # 2 to 3 parts each
    ids = first.submit_all(messages)
    wait_until(lambda: sim.journal_count() >= 2, timeout=60, interval=0.05, what="parts going out")

    second = gateway(sqlite_url, specs, name="second", key=first.key)
    refused = second.run_refused()
    assert refused.returncode == 1, refused
    lines = refused.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "in use by another gateway" in lines[-1], refused.stderr
    assert not any("Traceback" in line for line in lines), refused.stderr

    first.wait_all(ids, "delivered", timeout=120)
    assert_every_part_once(sim.journal(), messages)
