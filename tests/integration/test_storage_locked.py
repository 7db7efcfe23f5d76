"""A database locked past the busy timeout while a part is on its way, longer than the lease:
the real outbox on SQLite, two workers on simulated modems, the wall clock moved by hand."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from drivers.at.link import ModemLink
from drivers.at.modem import ModemConfig
from drivers.simulator.server import SimulatorThread
from gateway.core import db, outbox
from gateway.core.clock import SystemClock
from gateway.core.db import create_engine_for, migrate, session
from gateway.core.dispatcher import ModemWorker, Uncommitted
from gateway.core.pacing import Pacer
from gateway.core.runtime import OutboxWorkStore

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

TEXT = "Two parts " + "abcdefghij" * 20


class MovableClock(SystemClock):
    """The system clock, whose wall time a test moves forward (past a lease)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def test_a_result_held_through_a_lock_longer_than_the_lease_is_committed_not_sent_again(tmp_path, monkeypatch):
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)  # "too long" in a tenth of a second
    path = tmp_path / "gw.db"
    engine = create_engine_for(f"sqlite:///{path}")
    migrate(engine)
    clock = MovableClock()
    with session(engine) as s:
        message_id = outbox.submit(s, api_key_id=None, recipient="+31650000001", text=TEXT, now=clock.now()).message.id
    store = OutboxWorkStore(engine, clock)
    uncommitted = Uncommitted()
    other = sqlite3.connect(path, isolation_level=None)

    async def on_incoming(modem_id, item):
        pass

    def status() -> str:
        with session(engine) as s:
            return outbox.get_message(s, message_id).status

    async def until(condition, what: str) -> None:
        for _ in range(400):
            if condition():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    with SimulatorThread(2, pty=False, tcp=("127.0.0.1", 0)) as sim:
        for modem_id in sim.endpoints:
            sim.set_faults(modem_id, submit_delay=1.0)
        config = ModemConfig(command_timeout=2.0, send_timeout=5.0)
        workers = [
            ModemWorker(
                modem_id,
                ModemLink(ep.tcp_url, config, name=modem_id),
                Pacer(600, 5),
                store,
                clock=clock,
                on_incoming=on_incoming,
                idle_poll=0.05,
                uncommitted=uncommitted,
            )
            for modem_id, ep in sim.endpoints.items()
        ]

        async def scenario():
            tasks = [asyncio.ensure_future(w.run()) for w in workers]
            try:
                await until(lambda: status() == "sending", "the message claimed")
                other.execute("BEGIN IMMEDIATE")  # another process takes the write lock and keeps it
                await until(lambda: len(sim.received()) == 1, "part 1 at the network")
                await until(lambda: bool(uncommitted), "its result held")
                clock.offset = outbox.DEFAULT_LEASE * 2  # the lock outlasts the lease
                await asyncio.sleep(2.0)  # time for a claim of the lapsed lease, were one allowed
                assert len(sim.received()) == 1
                other.execute("ROLLBACK")  # and lets go
                await until(lambda: status() in ("sent", "delivered"), "the message sent")
            finally:
                for w in workers:
                    await w.stop()
                await asyncio.wait(tasks, timeout=5)

        asyncio.run(scenario())
        received = sim.received()
        whole = sim.messages()
    other.close()
    assert len(received) == 2, received  # both parts, each once
    assert len({r["modem"] for r in received}) == 1
    assert set(Counter((r["recipient"], r["text"]) for r in whole).values()) == {1}
    with session(engine) as s:
        parts = outbox.message_parts(s, message_id)
        assert [p.status for p in parts] in (["sent", "sent"], ["delivered", "delivered"])
        assert all(p.message_reference is not None for p in parts)
    engine.dispose()
