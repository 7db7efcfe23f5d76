"""A worker claims several messages at once when its modem is fast: the real outbox on
SQLite, a worker on a simulated modem. What it claimed and did not start goes back to the
queue, uncounted, when it cannot send them; nothing is sent twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from drivers.at.link import ModemLink
from drivers.at.modem import ModemConfig
from drivers.simulator.server import SimulatorThread
from gateway.core import outbox
from gateway.core.clock import SystemClock
from gateway.core.db import create_engine_for, migrate
from gateway.core.dispatcher import ModemWorker
from gateway.core.models import Message
from gateway.core.pacing import Pacer
from gateway.core.runtime import OutboxWorkStore

pytestmark = pytest.mark.timeout(60)


class MovableClock(SystemClock):
    """The system clock, whose wall time a test moves forward (towards a lease's end)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class CountingStore(OutboxWorkStore):
    """The real outbox, remembering what each claim handed out."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.claims: list[list[str]] = []
        self.after_claim: Callable[[list[str]], None] | None = None

    async def claim(self, modem_id: str, max_parts: int | None = None, max_messages: int = 1) -> list[outbox.Claim]:
        claimed = await super().claim(modem_id, max_parts, max_messages)
        ids = [c.message_id for c in claimed]
        if ids:
            self.claims.append(ids)
            if self.after_claim is not None:
                self.after_claim(ids)
        return claimed


def queue(engine: sa.Engine, n: int, now: datetime) -> list[str]:
    drafts = [outbox.Draft(f"+3165{i:07d}", f"Code {1000 + i}", "test") for i in range(n)]
    with engine.begin() as conn:
        outbox.insert_many(conn, drafts, now=now)
    return [d.id for d in drafts]


def rows(engine: sa.Engine) -> dict[str, tuple[str, int]]:
    with engine.connect() as conn:
        found = conn.execute(sa.select(Message.id, Message.status, Message.attempts))  # type: ignore[call-overload]
        return {r.id: (r.status, r.attempts) for r in found}


async def until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def run_worker(
    tmp_path, n: int, scenario: Callable[..., object], *, submit_delay: float, lease: timedelta = outbox.DEFAULT_LEASE
) -> tuple[CountingStore, dict[str, tuple[str, int]], Sequence[dict[str, object]]]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'gw.db'}")
    migrate(engine)
    clock = MovableClock()
    queue(engine, n, clock.now())
    store = CountingStore(engine, clock, lease=lease)

    async def on_incoming(modem_id: str, item: object) -> None:
        pass

    with SimulatorThread(1, pty=False, tcp=("127.0.0.1", 0)) as sim:
        (modem_id, ep), *_ = sim.endpoints.items()
        sim.set_faults(modem_id, submit_delay=submit_delay)
        worker = ModemWorker(
            modem_id,
            ModemLink(ep.tcp_url, ModemConfig(command_timeout=2.0, send_timeout=5.0), name=modem_id),
            Pacer(float("inf"), 5),
            store,
            clock=clock,
            on_incoming=on_incoming,
            idle_poll=0.05,
        )

        async def main() -> None:
            task = asyncio.ensure_future(worker.run())
            try:
                await scenario(worker=worker, store=store, sim=sim, clock=clock, engine=engine)
            finally:
                await worker.stop()
                await asyncio.wait_for(task, 10)

        asyncio.run(main())
        received = sim.received()
    final = rows(engine)
    engine.dispose()
    return store, final, received


def test_a_fast_modem_claims_several_messages_at_once_and_sends_each_once(tmp_path):
    async def scenario(*, engine, **_: object) -> None:
        await until(lambda: all(s == "sent" for s, _ in rows(engine).values()), "all 60 sent")

    store, final, received = run_worker(tmp_path, 60, scenario, submit_delay=0.0)
    assert max(len(c) for c in store.claims) > 1  # batches, once its send time is known
    assert len(store.claims) < 60
    assert {status for status, _ in final.values()} == {"sent"}
    assert {attempts for _, attempts in final.values()} == {1}
    assert set(Counter(r["recipient"] for r in received).values()) == {1}  # each number once


def test_messages_claimed_and_not_started_go_back_uncounted_when_the_modem_is_disabled(tmp_path):
    async def scenario(*, worker, store, engine, **_: object) -> None:
        await until(lambda: any(len(c) > 1 for c in store.claims), "a batch claimed")
        worker.enable(False)  # the operator takes the modem out of service mid-batch
        await until(lambda: "sending" not in {s for s, _ in rows(engine).values()}, "nothing left in hand")

    _, final, received = run_worker(tmp_path, 40, scenario, submit_delay=0.03)
    sent = [mid for mid, (status, _) in final.items() if status == "sent"]
    waiting = [mid for mid, (status, _) in final.items() if status == "queued"]
    assert sent and waiting
    assert len(sent) + len(waiting) == 40
    assert all(final[mid][1] == 0 for mid in waiting)  # given back without counting an attempt
    assert len(received) == len(sent)  # what went out is what is marked sent, once each


def test_a_claimed_message_not_started_in_the_first_half_of_its_lease_goes_back_unsent(tmp_path):
    lease = timedelta(seconds=60)

    def late(ids: list[str]) -> None:
        if len(ids) > 1 and clock_ref:
            clock_ref[0].offset += lease * 0.6  # the batch waited past half its lease

    clock_ref: list[MovableClock] = []

    async def scenario(*, store, clock, engine, **_: object) -> None:
        clock_ref.append(clock)
        store.after_claim = late
        await until(lambda: all(s == "sent" for s, _ in rows(engine).values()), "all sent")

    store, final, received = run_worker(tmp_path, 30, scenario, submit_delay=0.02, lease=lease)
    claimed = Counter(mid for batch in store.claims for mid in batch)
    assert max(claimed.values()) > 1  # given back once, claimed again
    assert {attempts for _, attempts in final.values()} == {1}  # the give-back did not count
    assert set(Counter(r["recipient"] for r in received).values()) == {1}  # and nothing went twice
