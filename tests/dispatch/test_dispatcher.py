"""The dispatcher against simulated modems over TCP, with the outbox held in memory."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime

import pytest

from drivers.at.link import ModemLink
from drivers.at.modem import ModemConfig
from drivers.simulator.server import SimulatorThread
from gateway.core.clock import SystemClock
from gateway.core.dispatcher import ModemWorker
from gateway.core.pacing import Pacer
from tests.support.memstore import MemStore
from tests.support.workers import make_workers

pytestmark = pytest.mark.timeout(90)

TEXTS = [
    "Short GSM text {with} [extension] €",
    "Long GSM " + "abcdefghij" * 40,
    "Unicode 😀 Привет " + "ж" * 120,
]


async def run_until(workers, store: MemStore, *, timeout: float) -> None:
    tasks = [asyncio.ensure_future(w.run()) for w in workers]
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while any(m.status in ("queued", "sending") for m in store.messages.values()):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    "not finished: "
                    + str(
                        [
                            (m.message_id, m.status, m.errors)
                            for m in store.messages.values()
                            if m.status in ("queued", "sending")
                        ][:5]
                    )
                )
            await asyncio.sleep(0.05)
    finally:
        for w in workers:
            await w.stop()
        await asyncio.wait(tasks, timeout=5)


@pytest.fixture
def sim():
    with SimulatorThread(3, pty=False, tcp=("127.0.0.1", 0)) as s:
        yield s


def test_mixed_messages_all_sent_each_through_one_modem(sim):
    store = MemStore()
    for i in range(30):
        store.add(f"+3161000{i:04d}", f"{i}: {TEXTS[i % 3]}")
    workers = make_workers(sim, store)
    asyncio.run(run_until(workers, store, timeout=60))

    assert all(m.status == "sent" for m in store.messages.values())
    got = {(m["recipient"], m["text"]) for m in sim.messages()}
    assert got == {(m.recipient, m.text) for m in store.messages.values()}
    for m in store.messages.values():
        assert len({modem for modem, _ in m.sends}) == 1, m.sends
    used = {modem for m in store.messages.values() for modem, _ in m.sends}
    assert used == {"sim1", "sim2", "sim3"}  # work spread over every healthy modem


def test_no_modem_exceeds_its_rate_and_burst(sim):
    store = MemStore()
    for i in range(12):
        store.add(f"+3161000{i:04d}", f"rate {i}")
    rate, burst = 120.0, 2  # a part every 0.5 s after a burst of 2
    workers = make_workers(sim, store, rate=rate, burst=burst)
    asyncio.run(run_until(workers, store, timeout=60))
    by_modem = defaultdict(list)
    for r in sim.received():
        by_modem[r["modem"]].append(datetime.fromisoformat(r["time"]).timestamp())
    for times in by_modem.values():
        times.sort()
        for i, start in enumerate(times):
            for end in times[i:]:
                count = sum(1 for t in times if start <= t <= end)
                # 50 ms slack: the journal stamps arrival at the simulator, not the token.
                assert count <= burst + rate * (end - start + 0.05) / 60 + 1e-9


def test_failing_hanging_and_vanishing_modems_leave_the_work_to_the_healthy_one(sim):
    sim.set_faults("sim1", cms_error=500, cms_error_count=0)
    sim.set_faults("sim2", hang=True)
    store = MemStore(max_attempts=8)
    for i in range(15):
        store.add(f"+3161000{i:04d}", f"{i}: {TEXTS[i % 3]}")
    workers = make_workers(sim, store)

    async def scenario():
        runner = asyncio.ensure_future(run_until(workers, store, timeout=60))
        await asyncio.sleep(0.3)
        sim.set_faults("sim3", disconnect=True)  # vanishes mid-run ...
        await asyncio.sleep(1.0)
        sim.clear_faults("sim3")  # ... and comes back: reconnected and used again
        await runner

    asyncio.run(scenario())
    assert all(m.status == "sent" for m in store.messages.values()), [
        (m.message_id, m.status, m.errors) for m in store.messages.values()
    ]
    delivered = {(m["recipient"], m["text"]) for m in sim.messages()}
    assert {(m.recipient, m.text) for m in store.messages.values()} <= delivered
    assert {m["modem"] for m in sim.messages()} == {"sim3"}
    states = {w.modem_id: w.status for w in workers}
    assert states["sim1"].faults >= 1 and "500" in (states["sim1"].last_error or "")
    assert states["sim2"].faults >= 1
    assert states["sim3"].faults >= 1  # the drop-out was noticed


def test_permanent_error_fails_the_message_without_retrying(sim):
    for modem in ("sim1", "sim2", "sim3"):
        sim.set_faults(modem, cms_error=1, cms_error_count=0)  # unassigned number
    store = MemStore()
    mid = store.add("+31610000001", "to nowhere")
    asyncio.run(run_until(make_workers(sim, store), store, timeout=30))
    message = store.messages[mid]
    assert message.status == "failed"
    assert message.attempts == 1
    assert "+CMS ERROR: 1" in message.errors[0]


def test_received_messages_and_reports_are_handed_over_and_removed_from_the_modem(sim):
    store = MemStore()
    store.add("+31610000001", "needs a report")
    received: list = []
    workers = make_workers(sim, store, received=received)

    async def scenario():
        tasks = [asyncio.ensure_future(w.run()) for w in workers]
        while store.messages["m1"].status != "sent":
            await asyncio.sleep(0.05)
        sim.inbound("sim1", "+31699999999", "STOP")
        for _ in range(200):
            if any(i.sms and i.sms.type == "SMS-DELIVER" for _, i in received) and any(
                i.is_status_report for _, i in received
            ):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # acknowledge (AT+CMGD) runs right after hand-over
        for w in workers:
            await w.stop()
        await asyncio.wait(tasks, timeout=5)

    asyncio.run(scenario())
    texts = [(m, i.sms.text) for m, i in received if i.sms and i.sms.type == "SMS-DELIVER"]
    assert texts == [("sim1", "STOP")]
    assert any(i.is_status_report and i.sms.category == "delivered" for _, i in received)
    storage = sim.call(lambda: {mid: m.stores["SM"].used for mid, m in sim.sim.modems.items()})
    assert storage == {"sim1": 0, "sim2": 0, "sim3": 0}


def test_a_vague_error_on_a_first_try_frees_the_message_for_any_modem_at_once(sim):
    # CMS 500 the first time is retry_same; with nothing sent yet, the message is not held
    # for this modem's backoff but given back due now, for whichever modem is free.
    sim.set_faults("sim1", cms_error=500, cms_error_count=1)
    store = MemStore()
    workers = make_workers(sim, store)
    mid = store.add("+31610000002", "first try fails")
    asyncio.run(run_until(workers[:1], store, timeout=30))
    assert store.messages[mid].status == "sent"
    assert store.retries == [(mid, False)]


async def _ignore(modem_id, item) -> None:
    pass


def test_a_modem_put_out_of_rotation_for_lost_registration_shows_it(sim):
    # Registration is lost after the last health poll (every 30 s here): the sends that fail
    # with CMS 331 take it out of rotation, and the modem list must say why at once rather
    # than keep showing the registration of the last poll.
    store = MemStore()
    worker = ModemWorker(
        "sim1",
        ModemLink(
            sim.endpoints["sim1"].tcp_url,
            ModemConfig(command_timeout=1.0, send_timeout=2.0),
            name="sim1",
            initial_backoff=5.0,
            max_backoff=5.0,
        ),
        Pacer(600, 3, now=SystemClock().monotonic()),
        store,
        clock=SystemClock(),
        on_incoming=_ignore,
        idle_poll=0.05,
        health_interval=30.0,
        storage_poll=30.0,
        reprobe_initial=30.0,
    )

    async def scenario():
        task = asyncio.ensure_future(worker.run())
        try:
            while worker.status.health is None:
                await asyncio.sleep(0.02)
            assert worker.status.health.registration == "home"
            sim.set_faults("sim1", no_registration=True)
            for i in range(3):
                store.add(f"+3161000001{i}", "no network")
            worker.wake()
            while worker.status.state != "faulty":
                await asyncio.sleep(0.02)
        finally:
            await worker.stop()
            await asyncio.wait([task], timeout=5)

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert worker.status.health is not None and worker.status.health.registration == "not_registered"
    assert "331" in (worker.status.last_error or "")
