"""Dispatcher: one worker per modem, pulling work from the outbox at the modem's own pace.

Why pull: a worker claims a message only when its modem is healthy and its token bucket
allows a part now, so work flows to the least-loaded healthy modem without a central
scheduler, and a slow or dead modem simply stops taking work. All parts of a message
go through the modem that claimed it (the handset reassembles by sender number).

Each part's `+CMGS: <mr>` is committed before the next part is sent. When something
fails, `gateway.core.policy` gives the error's class (`drivers.at.errors.classify`'s
table, plus the one rule about vague errors repeated) and decides, without I/O, what
becomes of the message (fail, retry here, retry elsewhere, resend whole) and of the modem
(slow down, step aside, out of service and reopened with a growing delay); the worker only
carries the decision out.

A result that cannot be committed because storage fails (a full disk, a read-only or
locked database, a lost connection) is kept: the worker holds it, sends nothing more and
tries the write again after a growing pause until it goes in, then carries on. While any
worker of the outbox holds one (`Uncommitted`), no worker claims: the held message's lease
may lapse meanwhile, and it must not be handed out and its parts sent again.

Received messages and status reports are handed to `on_incoming` and removed from the
modem only after that returned (the caller has stored them).

`stop(deadline=…)` drains: the worker claims nothing more, gives back a message claimed but
not started, and finishes the one in hand if `policy.on_stop` says its parts can be
answered before the deadline, else gives it back between two parts. What it did is in
`drained`. An `AT+CMGS` is never abandoned by the worker itself: only the gateway cancels a
worker still busy when the deadline has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from drivers._exceptions import AtError, ModemGone
from drivers.at.link import ModemLink, backoff_delays
from drivers.at.modem import Health, Incoming, Modem
from drivers.sms import SubmitPart
from gateway.core.clock import Clock
from gateway.core.dailycap import modem_day, until_next_day
from gateway.core.errors import StorageUnavailable
from gateway.core.pacing import Pacer, PacingSnapshot
from gateway.core.policy import (
    READ_WAIT_MAX,
    RECEIVING_AT_ONCE,
    THROTTLING_CMS,
    SendFailure,
    SendRecord,
    answered_with_code,
    answering_state,
    claim_batch,
    error_class,
    is_throttling,
    may_start,
    must_wait_for_reads,
    on_failure,
    on_stop,
    on_success,
    poll_failure_is_fault,
    poll_offset,
    storage_wait,
)
from gateway.core.recovery import Recovery

__all__ = [
    "ClaimedPart",
    "ClaimedMessage",
    "Drained",
    "WorkStore",
    "ModemWorker",
    "Uncommitted",
    "WorkerState",
    "WorkerStatus",
    "AtErrorSeen",
    "RECENT_AT_ERRORS",
    "THROTTLING_CMS",
]

log = logging.getLogger("modemgate.dispatcher")

WorkerState = Literal["starting", "ready", "faulty", "disabled", "draining", "capped", "stopped"]


class ClaimedPart(Protocol):
    """A part of a claimed message (gateway.core.outbox.ClaimedPart is one)."""

    @property
    def part_id(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def pdu(self) -> str: ...
    @property
    def tpdu_length(self) -> int: ...
    @property
    def sent(self) -> bool:
        """Its MR is already committed (an earlier, interrupted attempt): not sent again."""


class ClaimedMessage(Protocol):
    """A message leased to a worker (gateway.core.outbox.Claim is one)."""

    @property
    def message_id(self) -> str: ...
    @property
    def recipient(self) -> str: ...
    @property
    def parts(self) -> Sequence[ClaimedPart]: ...
    @property
    def attempt(self) -> int:
        """How many times this message has been tried, this one included."""

    @property
    def lease_until(self) -> datetime:
        """When the worker's hold on it lapses (then another modem may take it)."""


class WorkStore(Protocol):
    """What a worker needs from the outbox (implemented over gateway.core.outbox)."""

    async def claim(
        self, modem_id: str, max_parts: int | None = None, max_messages: int = 1
    ) -> Sequence[ClaimedMessage]:
        """Up to `max_messages` due messages for `modem_id`, in the queue's order, whose
        unsent parts together are at most `max_parts` (what is left of its daily cap;
        None: any); empty when nothing is due."""

    async def part_sent(
        self, part_id: int, modem_id: str, mr: int, *, finishes: str | None = None, then: str | None = None
    ) -> None:
        """Commit a part's MR. `finishes`: the id of the message whose last part this is,
        marked sent in the same write (then `message_sent` is not called for it); `then`:
        the claimed message sent next, started in the same write."""

    async def start(self, message_id: str, modem_id: str) -> None:
        """A message claimed with others is about to be sent: its parts become `sending`
        (the first of a claim is started by the claim)."""

    async def message_sent(self, message_id: str) -> None: ...

    async def retry(self, message_id: str, *, error: str, resend_whole: bool, pinned: bool) -> None:
        """Back to the queue after a failed attempt. `pinned`: to be tried again on this
        modem, after the retry backoff (and kept on it if some parts went out); otherwise
        another modem should take it now (`resend_whole`: with all its parts again)."""

    async def fail(self, message_id: str, *, error: str) -> None: ...

    async def release(self, message_id: str, owner: str | None = None) -> None:
        """Unclaim without counting an attempt (the modem went away before sending anything);
        with `owner`, only while it still holds it."""


class Uncommitted:
    """The workers of one outbox that hold a send result storage did not take yet.

    Shared by every worker of a gateway: while it is not empty none of them claims, so a
    held message whose lease lapsed is not claimed (and sent) again before its result is in.
    """

    def __init__(self) -> None:
        self._holders: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self._holders)

    def hold(self, modem_id: str) -> None:
        self._holders.add(modem_id)

    def done(self, modem_id: str) -> None:
        self._holders.discard(modem_id)


@dataclass
class Drained:
    """What a worker did with its work while stopping."""

    finished: int = 0  # messages in hand completed
    parts_sent: int = 0  # parts sent after the stop began
    released: int = 0  # messages given back (claimed but not started, or cut between parts)
    parts_left: int = 0  # unsent parts of those: they go after the restart


# How many of a modem's latest AT errors its status keeps (in memory: they are for an
# operator looking at a modem now, not a history).
RECENT_AT_ERRORS = 20


@dataclass(frozen=True)
class AtErrorSeen:
    """An AT error a worker met: when, the command that got it (None: not one command's,
    e.g. a port that would not open) and the error."""

    at: datetime
    command: str | None
    error: str


@dataclass
class WorkerStatus:
    """What GET /v1/modems and /metrics show of one modem."""

    modem_id: str
    state: WorkerState = "starting"
    enabled: bool = True
    sent_parts: int = 0
    sent_messages: int = 0
    failed: int = 0
    retried: int = 0
    faults: int = 0
    last_error: str | None = None
    health: Health | None = None
    identity: dict[str, str | None] = field(default_factory=dict)
    # Whether the modem hands status reports over (its AT+CNMI setting); None until it is up.
    status_reports: bool | None = None
    # The latest AT errors, oldest first.
    at_errors: deque[AtErrorSeen] = field(default_factory=lambda: deque(maxlen=RECENT_AT_ERRORS))


class ModemWorker:
    """Drives one modem: sends what it claims, receives what arrives, watches health."""

    def __init__(
        self,
        modem_id: str,
        link: ModemLink,
        pacer: Pacer,
        store: WorkStore,
        *,
        clock: Clock,
        on_incoming: Callable[[str, Incoming], Awaitable[None]],
        idle_poll: float = 1.0,
        health_interval: float = 30.0,
        storage_poll: float = 60.0,
        on_part_sent: Callable[[str, float], None] | None = None,
        reprobe_initial: float = 1.0,
        reprobe_max: float = 60.0,
        uncommitted: Uncommitted | None = None,
        recovery: Recovery | None = None,
        time_zone: ZoneInfo | None = None,
        idle_rescan: float | None = None,
    ) -> None:
        self.modem_id = modem_id
        self.recovery = recovery  # soft reset and operator command after failed reopens
        self.link = link
        self.pacer = pacer
        self.store = store
        self.clock = clock
        self.status = WorkerStatus(modem_id)
        self._on_incoming = on_incoming
        self._on_part_sent = on_part_sent
        self._idle_poll = idle_poll
        self._health_interval = health_interval
        self._storage_poll = storage_poll
        self._wake = asyncio.Event()
        self._stopping = False
        self._deadline = float("inf")  # monotonic time by which a stop must be done
        self._stopped = asyncio.Event()
        self.drained = Drained()
        self.in_hand: str | None = None  # the id of the message being sent
        # Claimed together with the one in hand and not started yet (see `_claim`).
        self._claimed: deque[ClaimedMessage] = deque()
        self._claimed_at = datetime.min
        self._started: str | None = None  # the message whose parts storage has as `sending`
        self._send_times: deque[float] = deque(maxlen=8)  # seconds the latest AT+CMGS took
        self._draining = False
        self._background: list[asyncio.Task[None]] = []
        self._reprobe_delay = backoff_delays(reprobe_initial, reprobe_max)
        self._reopen = False  # the open modem (if any) must be closed and opened again
        self._record = SendRecord()  # this modem's recent sends (see gateway.core.policy)
        self._probe_at = 0.0  # monotonic time before which a faulted modem is not reopened
        self._failure_pause = max(1.0, idle_poll)  # after an error that is not the modem's
        # Shared with the outbox's other workers (an empty one is falsy: compare with None).
        self._uncommitted = uncommitted if uncommitted is not None else Uncommitted()
        self._storage_failures = 0  # claims that failed on storage in a row
        self._zone = time_zone or ZoneInfo("UTC")  # the modem's day (its daily cap) is in it
        # After a claim that found nothing, how long until this worker looks again by
        # itself; new work wakes it sooner (`wake`). The gateway watches the queue for all
        # its workers, so with many modems this can be long and idle modems cost nothing.
        self._idle_rescan = idle_rescan if idle_rescan is not None else idle_poll
        self.waiting_for_work = False  # idle after a claim that found nothing
        self._found_work = False  # the last claim found a message: more is likely queued

    # --- control ------------------------------------------------------------------------

    def wake(self) -> None:
        """New work may be waiting (a message was just submitted)."""
        self._wake.set()

    def enable(self, enabled: bool) -> None:
        self.status.enabled = enabled
        self._draining = False
        self.wake()

    def reprobe(self) -> None:
        """Close the modem and open and initialise it again now (identity, SIM, network),
        as after a fault but without waiting out a backoff; the message in hand, if any,
        is finished first, and a wait after a failed open is not cut short."""
        for task in self._background:  # they read the old modem, about to be closed
            task.cancel()
        self._background = []
        self._reopen = True
        self._probe_at = 0.0
        self.wake()

    def drain(self) -> None:
        """Finish the message in hand, then take no more (until enabled again)."""
        self._draining = True
        self.wake()

    def pacing(self) -> PacingSnapshot:
        return self.pacer.snapshot(self.clock.monotonic(), self._today())

    def _today(self) -> date:
        return modem_day(self.clock.now(), self._zone)

    async def stop(self, deadline: float | None = None) -> None:
        self.begin_stop(deadline)

    def begin_stop(self, deadline: float | None = None) -> None:
        """Claim nothing more and end `run()` after the message in hand (see the module's
        docstring); `deadline`: the monotonic time by which that must be done (None: no limit)."""
        self._stopping = True
        if deadline is not None:
            self._deadline = min(self._deadline, deadline)
        self._stopped.set()
        self.wake()

    # --- main loop ----------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while not self._stopping:
                try:
                    await self._turn()
                except StorageUnavailable as exc:
                    # Not the modem's: it stays in service. Claim nothing until the
                    # database takes writes again, trying it less often the longer it fails.
                    self._storage_failures += 1
                    self.status.last_error = str(exc)
                    log.warning("%s: %s; claiming again in %.1f s", self.modem_id, exc, self._storage_wait())
                    await self._idle(self._storage_wait(), wake_early=False)
                except Exception as exc:
                    # Not the modem's: the outbox (a database gone for a moment) or a bug.
                    # A message in hand stays leased and goes out again when its lease
                    # lapses; this worker carries on after a pause instead of ending.
                    log.exception("%s: %s", self.modem_id, exc)
                    self.status.last_error = f"{type(exc).__name__}: {exc}"
                    await self._idle(self._failure_pause, wake_early=False)
            await self._give_back_claimed()
        finally:
            self.status.state = "stopped"
            for task in self._background:
                task.cancel()
            await self.link.close()

    async def _turn(self) -> None:
        """One round: check the modem, wait for a token, claim a message and send it."""
        if self._claimed and not self._may_keep_claimed():
            await self._give_back_claimed()
        if not self.status.enabled or self._draining:
            self.status.state = "draining" if self._draining else "disabled"
            await self._idle(self._idle_poll)
            return
        modem = await self._ensure_connected()
        if modem is None:
            return
        if not await self._paced() or self._stopping:
            return
        if self._uncommitted:
            # A send result waits for storage: nothing is claimed before it is in.
            await self._idle(self._idle_poll, wake_early=False)
            return
        message = await self._next_claimed()
        if message is None:
            self.waiting_for_work = True
            try:
                await self._idle(self._idle_rescan)
            finally:
                self.waiting_for_work = False
            return
        await self._send(modem, message)

    async def _next_claimed(self) -> ClaimedMessage | None:
        """The next message to send: one claimed before and not started, else a new claim of
        as many as the modem sends in a moment (`policy.claim_batch`)."""
        now = self.clock.now()
        while self._claimed:
            message = self._claimed.popleft()
            if may_start(claimed_at=self._claimed_at, lease_until=message.lease_until, now=now):
                return message
            await self._unclaim(message)
        tokens = self.pacer.snapshot(self.clock.monotonic(), self._today()).tokens
        size = claim_batch(tokens=tokens, send_time=max(self._send_times, default=None))
        batch = await self.store.claim(self.modem_id, self.pacer.room(self._today()), size)
        self._storage_failures = 0
        self._found_work = bool(batch)
        if not batch:
            return None
        self._claimed_at = now
        self._claimed.extend(batch[1:])
        self._started = batch[0].message_id
        return batch[0]

    def _following(self) -> str | None:
        """The claimed message to send after the one in hand, if it will be (see `_turn`)."""
        if not self._claimed or not self._may_keep_claimed():
            return None
        message = self._claimed[0]
        if not may_start(claimed_at=self._claimed_at, lease_until=message.lease_until, now=self.clock.now()):
            return None
        return message.message_id

    def _may_keep_claimed(self) -> bool:
        """Whether messages claimed and not started may wait for this worker's next turn."""
        return (
            self.status.enabled
            and not self._draining
            and not self._stopping
            and not self._reopen
            and self.status.state not in ("faulty", "capped")
        )

    async def _give_back_claimed(self) -> None:
        """Every message claimed and not started goes back to the queue (uncounted), for
        another modem or a later turn."""
        while self._claimed:
            await self._unclaim(self._claimed.popleft())

    async def _unclaim(self, message: ClaimedMessage) -> None:
        if self._stopping:
            self.drained.released += 1
            self.drained.parts_left += sum(not p.sent for p in message.parts)
        try:
            await self.store.release(message.message_id, self.modem_id)
        except Exception as exc:
            # Its lease lapses and it is claimed again then: late, never lost or doubled.
            log.warning("%s: message %s not given back (%s); it returns when its lease lapses", self.modem_id,
                        message.message_id, exc)  # fmt: skip

    async def _ensure_connected(self) -> Modem | None:
        modem = self.link.modem
        if modem is not None and not self._reopen and self.status.state != "starting":
            if not modem.gone:
                if self.status.state in ("disabled", "draining"):  # enabled again
                    self.status.state = answering_state(self._record)
                return modem
            self._fault("port gone")
        wait = self._probe_at - self.clock.monotonic()
        if wait > 0:
            await self._idle(wait)
            return None
        try:
            modem = await self.link.connect(attempts=1)
        except AtError as exc:
            self._seen(exc)
            self._fault(str(exc))  # a modem that never comes up is as faulty as one that died
            if self.recovery is not None:
                await self._unless_stopped(self.recovery.failed())
            # New work does not cut this short: the backoff holds however busy the others are.
            await self._idle(self.link.retry_delay, wake_early=False)
            return None
        if self.recovery is not None:
            self.recovery.recovered()
        self._reopen = False
        ident = modem.identity
        self.status.identity = {
            "manufacturer": ident.manufacturer,
            "model": ident.model,
            "imei": ident.imei,
            "imsi": ident.imsi,
        }
        self.status.status_reports = modem.status_reports
        # Answering is not sending: after failed sends it stays faulty until a part goes out.
        self.status.state = answering_state(self._record)
        self._start_background(modem)
        return modem

    async def _paced(self) -> bool:
        """Wait for a token; False when the caller should re-check state first."""
        delay = self.pacer.delay(self.clock.monotonic(), self._today())
        if delay is None:
            # Daily cap reached: nothing more until the modem's next day (a PATCH that
            # raises the cap wakes it sooner).
            self.status.state = "capped"
            await self._give_back_claimed()
            await self._idle(min(60.0, until_next_day(self.clock.now(), self._zone)))
            return False
        if self.status.state == "capped":
            self.status.state = "ready"
        if delay > 0:
            await self._idle(delay, wake_early=False)
            return False
        if self._found_work:
            return True  # work is queued: claim the next message at once
        # Stagger by load so that, of several idle modems woken by one new message, the
        # one with the fullest bucket claims it first (least-loaded modem wins).
        fill = self.pacing().tokens / max(1, self.pacer.burst)
        if fill < 1.0:
            await self.clock.sleep(0.02 * (1.0 - fill))
        return True

    async def _send(self, modem: Modem, message: ClaimedMessage) -> None:
        if self._started != message.message_id:
            await self._commit(self.store.start, message.message_id, self.modem_id)
            self._started = message.message_id
        self.in_hand = message.message_id
        try:
            await self._send_parts(modem, message)
        finally:
            self.in_hand = None

    async def _send_parts(self, modem: Modem, message: ClaimedMessage) -> None:
        sent_any = any(p.sent for p in message.parts)
        pending = [p for p in message.parts if not p.sent]
        try:
            ctx = modem.multipart() if len(message.parts) > 1 else contextlib.nullcontext()
            async with ctx:
                for n, part in enumerate(pending):
                    if self._stopping and self._give_back(sent_any):
                        await self.store.release(message.message_id)
                        self.drained.released += 1
                        self.drained.parts_left += len(pending) - n
                        log.info(
                            "%s: stopping: message %s back in the queue with %d of %d parts unsent",
                            self.modem_id,
                            message.message_id,
                            len(pending) - n,
                            len(message.parts),
                        )
                        return
                    await self._wait_for_reads(modem)
                    if not await self._take_token():
                        # The cap was lowered under a message in hand: it goes back, pinned
                        # here if parts went out, and waits until the rest fit.
                        await self.store.release(message.message_id)
                        self.drained.released += self._stopping
                        return
                    started = self.clock.monotonic()
                    mr = await modem.send(SubmitPart(part.pdu, part.tpdu_length))
                    sent_any = True
                    last = n == len(pending) - 1
                    then = self._following() if last else None
                    await self._commit(
                        self.store.part_sent,
                        part.part_id,
                        self.modem_id,
                        mr,
                        finishes=message.message_id if last else None,
                        then=then,
                    )
                    if then is not None:
                        self._started = then
                    self._sent_ok()
                    self.status.sent_parts += 1
                    took = self.clock.monotonic() - started
                    self._send_times.append(took)
                    if self._stopping:
                        self.drained.parts_sent += 1
                    self.pacer.succeeded(self.clock.monotonic())
                    if self._on_part_sent is not None:
                        self._on_part_sent(self.modem_id, took)
            if not pending:  # every part went out in an earlier attempt
                await self._commit(self.store.message_sent, message.message_id)
            self.status.sent_messages += 1
            if self._stopping:
                self.drained.finished += 1
        except AtError as exc:
            await self._handle_error(message, exc, sent_any)
            # The modem's state is in doubt: what was claimed with this message goes elsewhere.
            await self._give_back_claimed()

    async def _commit(self, write: Callable[..., Awaitable[None]], /, *args: Any, **kwargs: Any) -> None:
        """Commit what became of a send. While storage fails the result is kept here (and
        every worker's claims wait): tried again after a growing pause until it is in."""
        failures = 0
        try:
            while True:
                try:
                    await write(*args, **kwargs)
                except StorageUnavailable as exc:
                    failures += 1
                    if self._stopping:
                        raise
                    if failures == 1:
                        self._uncommitted.hold(self.modem_id)
                        log.warning("%s: %s: %s; kept until storage takes it", self.modem_id, write.__name__, exc)
                    self.status.last_error = str(exc)
                    await self._idle(storage_wait(failures), wake_early=False)
                    continue
                if failures:
                    log.warning("%s: %s committed after %d storage failures", self.modem_id, write.__name__, failures)
                return
        finally:
            if failures:
                self._uncommitted.done(self.modem_id)

    def _storage_wait(self) -> float:
        return storage_wait(self._storage_failures)

    def _give_back(self, started: bool) -> bool:
        """While stopping: whether the message in hand goes back before its next part."""
        now = self.clock.monotonic()
        wait = self.pacer.delay(now, self._today())
        send_time = max(self._send_times, default=1.0)
        return on_stop(started=started, remaining=self._deadline - now, wait=wait, send_time=send_time) == "release"

    async def _wait_for_reads(self, modem: Modem) -> None:
        """Hold the next part while the modem holds too many unread reports and messages
        (`policy.must_wait_for_reads`): they are read between our sends, and each waits in
        a slot of its small memory until it is stored."""
        give_up = self.clock.monotonic() + READ_WAIT_MAX  # a slot that cannot be freed stops nothing
        while must_wait_for_reads(modem.backlog) and not modem.gone and not self._stopping:
            if self.clock.monotonic() >= give_up:
                return
            await self.clock.sleep(0.005)

    async def _take_token(self) -> bool:
        """Wait for the token of the next part; False if the daily cap leaves no room (only
        when it was lowered after the claim: a claimed message fits in what was left)."""
        while not self.pacer.take(self.clock.monotonic(), self._today()):
            delay = self.pacer.delay(self.clock.monotonic(), self._today())
            if delay is None:
                return False
            await self.clock.sleep(delay)
        return True

    async def _handle_error(self, message: ClaimedMessage, exc: AtError, sent_any: bool) -> None:
        # A vague error is the message's bad luck the first time, the modem's when its
        # sends keep failing, whatever the messages: the streak is the modem's, not the message's.
        modem = self.link.modem
        failure = SendFailure(
            action=error_class(exc, self._record),
            throttling=is_throttling(exc),
            sent_any=sent_any,
            attempt=message.attempt,
            answering=answered_with_code(exc),
            gone=isinstance(exc, ModemGone) or modem is None or modem.gone,
        )
        decision = on_failure(self._record, failure)
        self._seen(exc)
        self._record = decision.record
        error = str(exc)
        self.status.last_error = error
        log.info("%s: message %s: %s -> %s", self.modem_id, message.message_id, error, decision.action.value)
        if decision.message == "fail":
            self.status.failed += 1
            await self._commit(self.store.fail, message.message_id, error=error)
            return
        self.status.retried += 1
        if decision.slow_down:
            self.pacer.throttled(self.clock.monotonic())
        await self._commit(
            self.store.retry,
            message.message_id,
            error=error,
            resend_whole=decision.resend_whole,
            pinned=decision.pinned,
        )
        if decision.step_aside:
            await self._idle(2 * self._idle_poll, wake_early=False)
        if decision.take_out:
            self._fault(error)
            self._probe_at = self.clock.monotonic() + self._reprobe_delay(self._record.send_faults)
        if modem is not None and (decision.read_health or decision.close):
            if decision.read_health:
                with contextlib.suppress(Exception):
                    self.status.health = await modem.health()
            with contextlib.suppress(Exception):
                await modem.close()

    def _sent_ok(self) -> None:
        if self._record.send_faults:
            self._probe_at = 0.0
            self.status.state = "ready"
        self._record = on_success(self._record)

    def _seen(self, exc: AtError) -> None:
        self.status.at_errors.append(AtErrorSeen(self.clock.now(), exc.command, str(exc)))

    def _fault(self, reason: str) -> None:
        if self.status.state != "faulty":
            self.status.faults += 1
        self.status.state = "faulty"
        self.status.last_error = reason
        self._reopen = True
        for task in self._background:
            task.cancel()
        self._background = []

    # --- receiving and health -----------------------------------------------------------

    def _start_background(self, modem: Modem) -> None:
        for task in self._background:
            task.cancel()
        self._background = [
            asyncio.ensure_future(self._receive(modem)),
            asyncio.ensure_future(self._watch(modem)),
        ]

    async def _receive(self, modem: Modem) -> None:
        # Status reports are stored several at a time (they go into one transaction), so
        # a fast sender's reports keep up with it; received messages one by one, in order
        # (the parts of a long one are put together as they come).
        storing: set[asyncio.Future[None]] = set()
        try:
            while True:
                item = await modem.next_incoming()
                if not item.is_status_report:
                    await self._take(modem, item)
                    continue
                while len(storing) >= RECEIVING_AT_ONCE:
                    _, storing = await asyncio.wait(storing, return_when=asyncio.FIRST_COMPLETED)
                storing.add(asyncio.ensure_future(self._take(modem, item)))
        finally:
            for task in storing:
                task.cancel()

    async def _take(self, modem: Modem, item: Incoming) -> None:
        """Store what the modem handed over, then free its slot; left in the modem if it
        could not be stored (the storage poll hands it over again)."""
        try:
            await self._on_incoming(self.modem_id, item)
        except StorageUnavailable as exc:
            log.warning("%s: a received message was not stored (%s); left in the modem", self.modem_id, exc)
            modem.forget(item)
            return
        except Exception:
            log.exception("%s: storing a received message failed", self.modem_id)
            modem.forget(item)
            return
        try:
            await modem.acknowledge(item)
        except AtError as exc:
            self._seen(exc)
            log.warning("%s: could not delete a stored message: %s", self.modem_id, exc)

    async def _watch(self, modem: Modem) -> None:
        since_poll = self._storage_poll  # poll storage right away: catch what came while away
        # Each modem's polls keep their own place in the interval, so a pool of modems
        # opened together does not read them all in the same instant, over and over.
        # The first reading comes at once (signal and registration show as soon as the modem
        # is up); from the second on, the modem keeps its place.
        offset = poll_offset(self.modem_id, self._health_interval)
        first = True
        while True:
            try:
                if since_poll >= self._storage_poll:
                    await modem.poll_storage()
                    since_poll = 0.0
                self.status.health = await modem.health()
            except AtError as exc:
                self._seen(exc)
                if poll_failure_is_fault(exc):
                    self._fault(str(exc))
                    self.wake()
                    return
                log.warning("%s: health/storage poll: %s", self.modem_id, exc)
            wait = offset if first else self._health_interval
            first = False
            await self.clock.sleep(wait)
            since_poll += wait

    async def _unless_stopped(self, step: Awaitable[Any]) -> None:
        """Await a recovery step (a reset, the operator's command); a stop cuts it short."""
        task = asyncio.ensure_future(step)
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _idle(self, seconds: float, *, wake_early: bool = True) -> None:
        """Wait `seconds`; `stop()` ends the wait, and so does new work if `wake_early`."""
        if wake_early:
            self._wake.clear()
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waker = asyncio.ensure_future((self._wake if wake_early else self._stopped).wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
