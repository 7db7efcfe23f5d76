"""The dispatcher when storage fails: simulated modems over TCP, an in-memory outbox that fails
as a database on a full disk does (tests.support.memstore)."""

from __future__ import annotations

import asyncio

import pytest

from drivers.at.link import ModemLink
from drivers.at.modem import ModemConfig
from drivers.simulator.server import SimulatorThread
from gateway.core.clock import SystemClock
from gateway.core.dispatcher import ModemWorker, Uncommitted
from gateway.core.pacing import Pacer
from gateway.core.policy import STORAGE_WAIT_MAX, storage_wait
from tests.support.memstore import MemStore

pytestmark = pytest.mark.timeout(90)

LONG = "Two parts " + "abcdefghij" * 20


class QuickClock(SystemClock):
    """Wall-clock time whose sleeps are recorded and last a tenth of what was asked."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(max(0.0, seconds) / 10)


@pytest.fixture
def sim():
    with SimulatorThread(2, pty=False, tcp=("127.0.0.1", 0)) as s:
        yield s


def workers_for(sim: SimulatorThread, store: MemStore, clock: SystemClock) -> list[ModemWorker]:
    """A worker per simulated modem, sharing one `Uncommitted` as a gateway's workers do."""
    uncommitted = Uncommitted()
    config = ModemConfig(command_timeout=1.0, send_timeout=2.0, hang_after=2)

    async def on_incoming(modem_id, item):
        pass

    return [
        ModemWorker(
            modem_id,
            ModemLink(ep.tcp_url, config, name=modem_id, initial_backoff=0.1, max_backoff=0.5),
            Pacer(600, 3, now=clock.monotonic()),
            store,
            clock=clock,
            on_incoming=on_incoming,
            idle_poll=0.05,
            health_interval=30.0,
            storage_poll=60.0,
            uncommitted=uncommitted,
        )
        for modem_id, ep in sim.endpoints.items()
    ]


async def wait_for(condition, what: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_storage_waits_double_up_to_a_maximum():
    waits = [storage_wait(n) for n in range(1, 10)]
    assert waits[:4] == [0.5, 1.0, 2.0, 4.0]
    assert waits == sorted(waits) and waits[-1] == STORAGE_WAIT_MAX


def test_a_send_result_storage_refused_is_kept_and_committed_later_not_sent_again(sim):
    # The disk fills while part 1 of a message is on its way; the outage outlasts the
    # message's lease. The modem's +CMGS is kept, no worker claims (so the lapsed message is
    # not sent again by anyone), and when storage is back the result goes in, part 2 follows.
    store = MemStore()
    mid = store.add("+31610000001", LONG)
    store.down_after_claim = True
    workers = workers_for(sim, store, QuickClock())

    async def scenario():
        tasks = [asyncio.ensure_future(w.run()) for w in workers]
        try:
            await wait_for(lambda: store.refused["part_sent"] >= 2, "the part's result to be tried again")
            claims = store.refused["claim"]
            store.lapse_leases()  # the outage outlasted the lease
            await wait_for(lambda: store.refused["part_sent"] >= 4, "more tries of the result")
            assert store.refused["claim"] == claims, "a worker claimed while a send result was held"
            assert len(sim.received()) == 1
            assert all(w.status.state == "ready" and w.status.faults == 0 for w in workers)
            assert "storage unavailable" in "".join(w.status.last_error or "" for w in workers)
            store.down = False  # space again
            await wait_for(lambda: store.messages[mid].status == "sent", "the message to be sent")
        finally:
            for w in workers:
                await w.stop()
            await asyncio.wait(tasks, timeout=5)

    asyncio.run(scenario())
    message = store.messages[mid]
    assert sorted(seq for _, seq in message.sends) == [1, 2]
    assert len({modem for modem, _ in message.sends}) == 1
    received = sim.received()
    assert len(received) == 2  # each part reached the network exactly once
    assert [m["text"] for m in sim.messages()] == [LONG]


def test_claims_that_fail_on_storage_back_off_and_the_modem_stays_in_service(sim):
    store = MemStore()
    store.add("+31610000001", "waits for the disk")
    store.down = True
    clock = QuickClock()
    worker = workers_for(sim, store, clock)[0]

    async def scenario():
        task = asyncio.ensure_future(worker.run())
        try:
            await wait_for(lambda: store.refused["claim"] >= 5, "five refused claims")
            assert worker.status.state == "ready" and worker.status.faults == 0
            store.down = False
            await wait_for(lambda: store.messages["m1"].status == "sent", "the message to be sent")
        finally:
            await worker.stop()
            await asyncio.wait([task], timeout=5)

    asyncio.run(scenario())
    waits = [s for s in clock.slept if 0.5 <= s <= STORAGE_WAIT_MAX]
    assert waits[:4] == [0.5, 1.0, 2.0, 4.0]  # growing pauses between the claims, not a loop
    assert len(sim.received()) == 1
