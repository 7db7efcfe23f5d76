"""Two `modemgate serve` nodes configured with the same modem id on one PostgreSQL database:
the second is refused while the first holds the modem's lease, and takes over the first
one's unfinished work only once that lease expired after the first was killed."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import sqlalchemy as sa

from gateway.core.db import create_engine_for
from harness.livegateway import ModemSpec, journal_messages, part_key
from harness.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

LEASE = 10  # seconds: short, so the test does not wait long for it to run out


def lease_row(database_url: str) -> sa.Row:
    engine = create_engine_for(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT node_id, acquired_at, expires_at FROM modem_lease WHERE modem_id = 'shared-1'")
            ).one()
    finally:
        engine.dispose()


def test_a_modem_id_held_by_a_live_node_is_refused_and_taken_over_only_after_its_lease_expired(
    simulator, gateway, postgres_url
):
    sim = simulator(1)
    sim.set_faults("sim1", submit_delay=0.3)  # a slow network: parts are in flight when the node dies
    spec = [ModemSpec("shared-1", sim.urls["sim1"], 600, 5)]
    a = gateway(postgres_url, spec, name="node-a", node_id="node-a", modem_lease=LEASE).start()
    a.wait_ready(["shared-1"])
    b = gateway(postgres_url, spec, name="node-b", key=a.key, node_id="node-b", modem_lease=LEASE)

    refused = b.run_refused()
    assert refused.returncode == 1, refused
    line = refused.stderr.strip().splitlines()[-1]
    assert line.startswith("error: modem 'shared-1' is run by another gateway (node 'node-a'"), refused.stderr

    messages = [(f"+3165{i:07d}", f"{i}: " + " ".join(f"v{i}y{j}" for j in range(60))) for i in range(8)]
    ids = a.submit_all(messages)
    wait_until(lambda: sim.journal_count() >= 4, timeout=60, interval=0.05, what="parts going out")
    a.kill()
    held = lease_row(postgres_url)
    assert held.node_id == "node-a"

    refusals = 0
    while True:
        try:
            b.start()
            break
        except AssertionError as exc:  # exited at start
            assert "is run by another gateway (node 'node-a'" in str(exc), str(exc)
            refusals += 1
    taken = lease_row(postgres_url)
    assert taken.node_id == "node-b" and taken.acquired_at >= held.expires_at  # not before the lease ran out
    assert refusals >= 1  # it was refused while the lease ran

    b.wait_all(ids, "delivered", timeout=120)
    journal = sim.journal()
    joined = journal_messages(journal)
    assert Counter((m["recipient"], m["text"]) for m in joined) == Counter(messages)
    doubled = {k: n for k, n in Counter(part_key(e) for e in journal).items() if n > 1}
    # Only the part that was inside AT+CMGS when node a was killed may go twice.
    assert sum(n - 1 for n in doubled.values()) <= 1, doubled
    # What node a held: the message in hand and those it had claimed with it (a modem taking
    # 0.3 s per part claims about a second's worth); of them only the one in hand may be out.
    recovered = re.search(r"recovered (\d+) unfinished messages; (\d+) parts may be sent twice", b.log())
    assert recovered is not None, b.log()
    assert 1 <= int(recovered[1]) <= 3 and int(recovered[2]) <= 1, b.log()
