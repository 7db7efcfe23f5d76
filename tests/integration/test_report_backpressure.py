"""A sender never outruns what its modem receives: an instant modem with 30 slots for
status reports, a gateway whose storage takes its time over each report. The reports of
every part arrive; none is lost to a full modem memory."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from drivers.at.link import ModemLink
from drivers.at.modem import Incoming, ModemConfig
from drivers.simulator.server import SimulatorThread
from gateway.core import outbox
from gateway.core.clock import SystemClock
from gateway.core.db import create_engine_for, migrate
from gateway.core.dispatcher import ModemWorker
from gateway.core.models import Message
from gateway.core.pacing import Pacer
from gateway.core.runtime import OutboxWorkStore

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

MESSAGES = 150


def test_every_status_report_of_a_fast_burst_reaches_storage_that_is_slower_than_the_modem(tmp_path):
    engine = create_engine_for(f"sqlite:///{tmp_path / 'gw.db'}")
    migrate(engine)
    now = datetime.now(UTC)
    drafts = [outbox.Draft(f"+3165{i:07d}", f"Code {i}", "test") for i in range(MESSAGES)]
    with engine.begin() as conn:
        outbox.insert_many(conn, drafts, now=now)
    store = OutboxWorkStore(engine, SystemClock())
    reports: list[Incoming] = []
    storage = asyncio.Lock()

    async def on_incoming(modem_id: str, item: Incoming) -> None:
        async with storage:  # one at a time, 15 ms each: far slower than the modem sends
            await asyncio.sleep(0.015)
            reports.append(item)

    def sent() -> int:
        with engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(Message).where(Message.status == "sent")  # type: ignore[arg-type]
            return int(conn.execute(query).scalar_one())

    with SimulatorThread(1, pty=False, tcp=("127.0.0.1", 0)) as sim:
        (modem_id, ep), *_ = sim.endpoints.items()
        worker = ModemWorker(
            modem_id,
            ModemLink(ep.tcp_url, ModemConfig(command_timeout=2.0, send_timeout=5.0), name=modem_id),
            Pacer(float("inf"), 5),
            store,
            clock=SystemClock(),
            on_incoming=on_incoming,
            idle_poll=0.05,
        )

        async def main() -> None:
            task = asyncio.ensure_future(worker.run())
            try:
                for _ in range(3000):
                    if sent() == MESSAGES and len(reports) >= MESSAGES:
                        break
                    await asyncio.sleep(0.02)
            finally:
                await worker.stop()
                await asyncio.wait_for(task, 10)

        asyncio.run(main())
        network = len(sim.received())
    engine.dispose()
    assert network == MESSAGES
    assert sent() == MESSAGES
    assert len(reports) == MESSAGES  # one report per part: none dropped by a full memory
    assert all(r.is_status_report for r in reports)
