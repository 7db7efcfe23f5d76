"""A modem worker outlives a failing database call: the outbox on SQLite, a simulated modem over TCP."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from drivers.at.link import ModemLink
from drivers.at.modem import ModemConfig
from gateway.core import outbox
from gateway.core.clock import SystemClock
from gateway.core.db import create_engine_for, migrate, session
from gateway.core.dispatcher import ModemWorker
from gateway.core.pacing import Pacer
from gateway.core.runtime import OutboxWorkStore

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


class FlakyStore(OutboxWorkStore):
    """The real outbox, whose first claim fails as a database that went away for a moment."""

    failures = 1

    async def claim(self, modem_id, max_parts=None, max_messages=1):
        if self.failures:
            self.failures -= 1
            raise sa.exc.OperationalError("SELECT …", {}, Exception("server closed the connection unexpectedly"))
        return await super().claim(modem_id, max_parts, max_messages)


def test_a_database_error_does_not_end_the_modem_worker(simulator, tmp_path):
    sim = simulator(1)
    engine = create_engine_for(f"sqlite:///{tmp_path / 'gw.db'}")
    migrate(engine)
    clock = SystemClock()
    with session(engine) as s:
        message = outbox.submit(
            s, api_key_id=None, recipient="+31650000001", text="still here", now=clock.now()
        ).message
    store = FlakyStore(engine, clock)

    async def on_incoming(modem_id, item):
        pass

    async def scenario():
        link = ModemLink(sim.urls["sim1"], ModemConfig(command_timeout=2, send_timeout=5), name="m1")
        worker = ModemWorker("m1", link, Pacer(600, 5), store, clock=clock, on_incoming=on_incoming, idle_poll=0.1)
        task = asyncio.ensure_future(worker.run())
        try:
            for _ in range(100):
                if sim.journal_count() or task.done():
                    break
                await asyncio.sleep(0.1)
            assert not task.done(), f"the worker ended: {task.exception()!r}"
            assert sim.journal_count() == 1
            assert "OperationalError" in (worker.status.last_error or "")
        finally:
            await worker.stop()
            await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    with session(engine) as s:
        assert outbox.get_message(s, message.id).status == "sent"
