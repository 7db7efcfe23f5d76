"""A worker that stops (the gateway got SIGTERM): it claims nothing more, finishes the
message in hand within the deadline or gives it back between two parts, and gives back
what it claimed but did not start. Against a simulated modem whose network is slow."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from drivers.simulator.server import SimulatorThread
from gateway.core.dispatcher import ModemWorker
from tests.support.memstore import MemStore
from tests.support.workers import make_workers

pytestmark = pytest.mark.timeout(90)

LONG = "Long GSM " + " ".join(f"word{j}" for j in range(150))  # 8 parts


@pytest.fixture
def sim():
    with SimulatorThread(1, pty=False, tcp=("127.0.0.1", 0)) as s:
        yield s


async def until(predicate, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def parts_sent_once(sim: SimulatorThread) -> Counter:
    seen = Counter((r["recipient"], r["concat"]["ref"], r["concat"]["seq"]) for r in sim.received())
    assert max(seen.values()) == 1, seen
    return seen


def stop_mid_message(sim: SimulatorThread, *, submit_delay: float, grace: float) -> tuple[MemStore, str, ModemWorker]:
    """One 8-part message on a modem taking `submit_delay` per part, stopped with `grace`
    seconds left once two parts are out; returns when the worker has ended."""
    sim.set_faults("sim1", submit_delay=submit_delay)
    store = MemStore()
    mid = store.add("+31610000001", LONG)
    (worker,) = make_workers(sim, store)

    async def go() -> None:
        task = asyncio.ensure_future(worker.run())
        await until(lambda: len(store.messages[mid].sends) >= 2)
        worker.begin_stop(deadline=worker.clock.monotonic() + grace)
        await asyncio.wait_for(task, 30)

    asyncio.run(go())
    return store, mid, worker


def test_a_stop_with_time_enough_finishes_the_multipart_message_in_hand(sim):
    store, mid, worker = stop_mid_message(sim, submit_delay=0.2, grace=30)
    message = store.messages[mid]
    assert message.status == "sent"
    assert len(parts_sent_once(sim)) == len(message.parts) == 8
    assert (worker.drained.finished, worker.drained.released) == (1, 0)
    assert worker.drained.parts_sent >= 4


def test_a_stop_without_time_enough_gives_the_message_back_between_parts_and_the_restart_sends_the_rest(sim):
    store, mid, worker = stop_mid_message(sim, submit_delay=0.4, grace=0.5)
    message = store.messages[mid]
    sent = [p.seq for p in message.parts if p.mr is not None]
    assert message.status == "queued" and message.claimed_by is None, message
    assert 2 <= len(sent) < 8 and sent == list(range(1, len(sent) + 1))  # the first parts, with their MRs
    assert message.attempts == 0  # giving back is not a failed attempt
    assert worker.drained.released == 1 and worker.drained.parts_left == 8 - len(sent)
    assert len(sim.received()) == len(sent)  # nothing in flight was abandoned

    (restarted,) = make_workers(sim, store)

    async def again() -> None:
        task = asyncio.ensure_future(restarted.run())
        await until(lambda: message.status == "sent")
        await restarted.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(again())
    seen = parts_sent_once(sim)
    assert len(seen) == 8 and len({ref for _, ref, _ in seen}) == 1  # one message, one reference


class StopDuringClaim(MemStore):
    """The stop comes while the claim is on its way to the database."""

    worker = None

    async def claim(self, modem_id: str, max_parts: int | None = None, max_messages: int = 1):
        claimed = await super().claim(modem_id, max_parts, max_messages)
        if claimed and self.worker is not None:
            self.worker.begin_stop(deadline=self.worker.clock.monotonic() + 30)
        return claimed


def test_a_message_claimed_but_not_started_when_the_stop_comes_is_given_back_uncounted(sim):
    store = StopDuringClaim()
    mid = store.add("+31610000001", "short")
    (worker,) = make_workers(sim, store)
    store.worker = worker
    asyncio.run(asyncio.wait_for(worker.run(), 30))
    message = store.messages[mid]
    assert (message.status, message.attempts, message.claimed_by) == ("queued", 0, None)
    assert sim.received() == []
    assert worker.drained.released == 1


def test_a_stopped_worker_claims_nothing_more(sim):
    store = MemStore()
    mid = store.add("+31610000001", "short")
    (worker,) = make_workers(sim, store)
    worker.begin_stop(deadline=worker.clock.monotonic() + 30)
    asyncio.run(asyncio.wait_for(worker.run(), 30))
    assert store.messages[mid].status == "queued" and store.messages[mid].attempts == 0
