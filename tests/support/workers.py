"""Modem workers over a simulator's TCP modems and an in-memory outbox, for the dispatcher tests."""

from __future__ import annotations

from drivers.at.link import ModemLink
from drivers.at.modem import ModemConfig
from drivers.simulator.server import SimulatorThread
from gateway.core.clock import SystemClock
from gateway.core.dispatcher import ModemWorker
from gateway.core.pacing import Pacer
from tests.support.memstore import MemStore


def make_workers(
    sim: SimulatorThread,
    store: MemStore,
    *,
    rate: float = 600,
    burst: int = 3,
    config: ModemConfig | None = None,
    received: list | None = None,
) -> list[ModemWorker]:
    config = config or ModemConfig(command_timeout=1.0, send_timeout=2.0, hang_after=2)
    workers = []

    async def on_incoming(modem_id, item):
        if received is not None:
            received.append((modem_id, item))

    clock = SystemClock()
    for modem_id, ep in sim.endpoints.items():
        link = ModemLink(ep.tcp_url, config, name=modem_id, initial_backoff=0.1, max_backoff=0.5)
        pacer = Pacer(rate, burst, now=clock.monotonic())
        workers.append(
            ModemWorker(
                modem_id,
                link,
                pacer,
                store,
                clock=clock,
                on_incoming=on_incoming,
                idle_poll=0.05,
                health_interval=0.5,
                storage_poll=1.0,
            )
        )
    return workers
