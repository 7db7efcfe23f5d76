"""The running gateway: database, modem workers, receivers, webhooks and housekeeping.

`Gateway` wires the pieces together for `modemgate serve` and the API. It owns no
business rule itself: queueing is `outbox`, sending is `dispatcher`, reports are
`reports`, inbound is `inbound`, events are `webhooks`. What the layers above add
(marketing: consent at the claim, keyword replies, due campaigns) comes in as
`Extensions`, which the composition root builds (`gateway.campaigns.wiring`).

Modem ids double as lease owners in the outbox, so a restarted gateway takes back its own
unfinished work at once (`outbox.recover`). A modem id has one owner at a time
(`gateway.core.ownership`): `acquire` takes the SQLite database's lock and a lease on each
modem id before anything is recovered, and refuses to start while another gateway holds
them. Two gateways sharing a PostgreSQL database give their modems different ids.

Stopping drains (`begin_drain`, then `stop`): the workers claim nothing more, give back
what they claimed but did not start, and finish the messages in hand within
`drain_timeout` seconds (see gateway.core.dispatcher); only a worker still inside an
`AT+CMGS` when the time is up is cancelled, and that one part is what a restart may send
twice. The leases and the lock are given up last.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from drivers import ModemGone
from drivers.at.link import ModemLink
from drivers.at.locate import find_by_imei, serial_ports
from drivers.at.modem import Incoming, ModemConfig, open_modem
from drivers.at.recording import recording_transport
from drivers.at.reset import soft_reset
from drivers.at.transport import open_transport
from drivers.sms.pdu import SmsDeliver, SmsStatusReport
from gateway.core import courier, egress, inbound, outbox, reports
from gateway.core.claimpolicy import ALLOW_ALL, ClaimPolicy
from gateway.core.clock import Clock, SystemClock
from gateway.core.dailycap import day_start, modem_day
from gateway.core.db import create_engine_for, migrate, session
from gateway.core.dispatcher import Drained, ModemWorker, Uncommitted
from gateway.core.errors import InvalidInput
from gateway.core.metrics import GatewayMetrics
from gateway.core.models import InboundMessage
from gateway.core.numbers import normalise_number
from gateway.core.ownership import DatabaseLock, ModemLeases, Node
from gateway.core.pacing import Pacer
from gateway.core.recovery import Recovery, run_operator_command
from gateway.core.recoverypolicy import RecoveryPlan
from gateway.core.reportqueue import ReportQueue
from gateway.core.settings import ModemSettings, Settings
from gateway.core.simulated import SimulatedModems, start_simulated_modems

__all__ = ["Extensions", "Gateway", "OutboxWorkStore", "Timing", "Writes"]

log = logging.getLogger("modemgate.gateway")

T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    """Intervals (seconds) of the background loops; tests shorten them."""

    idle_poll: float = 0.5  # the queue is looked at this often for idle workers
    idle_rescan: float = 30.0  # an idle worker claims by itself this often (else when woken)
    health_interval: float = 30.0
    storage_poll: float = 60.0
    webhook_poll: float = 1.0
    housekeeping: float = 30.0
    campaign_poll: float = 5.0  # due campaigns are looked for this often (and when woken)
    command_timeout: float = 10.0
    send_timeout: float = 60.0
    reconnect_initial: float = 1.0
    reconnect_max: float = 60.0


@dataclass(frozen=True)
class Extensions:
    """What the layers above the transport add to a running gateway. The default adds
    nothing: every due message goes out, and inbound messages are only stored."""

    # Asked by the outbox's claim about every due message (consent, send window, cap).
    claim_policy: ClaimPolicy = ALLOW_ALL
    # Runs in the transaction that stores a whole inbound message (so a STOP acted on
    # commits with it); returns the ids of messages it queued, for which modems are woken.
    on_inbound: Callable[[Session, InboundMessage, datetime], Sequence[str]] | None = None
    # The recipient's time zone, kept with a marketing message for its send window.
    recipient_time_zone: Callable[[Session, str], str] | None = None
    # A periodic step that may queue messages (due campaigns); returns how many it queued.
    # Runs every `Timing.campaign_poll`, and at once after `Gateway.wake_campaigns`.
    run_due: Callable[[Engine, datetime], int] | None = None


class Writes:
    """Runs the gateway's database writes in worker threads; on SQLite, one at a time.

    SQLite has a single writer, and a connection waiting for the write lock sleeps in
    growing steps (1, 2, 5, 10, 15, 20, 25 … ms, its busy handler) instead of being woken
    when the lock comes free: with a dozen writers (a worker per modem, reports, the API)
    most of the time went into those sleeps. Taking turns on a lock in this process first
    hands the database over the moment the last write committed. PostgreSQL writes in
    parallel and gets no lock.
    """

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock() if engine.dialect.name == "sqlite" else None

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(self.now, fn, *args, **kwargs)

    def now(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run `fn` in this thread, in its turn."""
        if self._lock is None:
            return fn(*args, **kwargs)
        with self._lock:
            return fn(*args, **kwargs)


class OutboxWorkStore:
    """The dispatcher's view of the outbox (database calls run in worker threads)."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        writes: Writes | None = None,
        claim_policy: ClaimPolicy = ALLOW_ALL,
        owns: Callable[[str], bool] | None = None,
        lease: timedelta = outbox.DEFAULT_LEASE,
    ) -> None:
        self.lease = lease  # of a claimed message, renewed by every part sent
        self.engine = engine
        self.clock = clock
        self.writes = writes or Writes(engine)
        self.claim_policy = claim_policy
        self.owns = owns  # (modem id): this gateway's lease on the modem is valid

    async def claim(self, modem_id: str, max_parts: int | None = None, max_messages: int = 1) -> list[outbox.Claim]:
        if self.owns is not None and not self.owns(modem_id):
            return []  # another gateway holds the modem now (see gateway.core.ownership)
        return await self.writes(
            outbox.claim_many,
            self.engine,
            modem_id=modem_id,
            owner=modem_id,
            now=self.clock.now(),
            claim_policy=self.claim_policy,
            max_parts=max_parts,
            max_messages=max_messages,
            lease=self.lease,
        )

    async def part_sent(
        self, part_id: int, modem_id: str, mr: int, *, finishes: str | None = None, then: str | None = None
    ) -> None:
        if finishes is not None:
            await self.writes(
                outbox.record_last_sent, self.engine, part_id, mr=mr, modem_id=modem_id, now=self.clock.now(), then=then
            )
            return
        await self.writes(
            outbox.record_sent,
            self.engine,
            part_id,
            mr=mr,
            modem_id=modem_id,
            now=self.clock.now(),
            lease=self.lease,
        )

    async def start(self, message_id: str, modem_id: str) -> None:
        await self.writes(outbox.start, self.engine, message_id, owner=modem_id)

    async def message_sent(self, message_id: str) -> None:
        await self.writes(outbox.finish, self.engine, message_id, now=self.clock.now())

    async def retry(self, message_id: str, *, error: str, resend_whole: bool, pinned: bool) -> None:
        # Pinning is the outbox's: a message stays with the modem its parts went through
        # until it is released for a whole resend. The backoff is for trying the same modem
        # again; work a modem gives up to the others is due at once (the attempt counts).
        now = self.clock.now()
        await self.writes(
            outbox.release,
            self.engine,
            message_id,
            now=now,
            error=error,
            resend_whole=resend_whole,
            retry_at=None if pinned else now,
        )

    async def fail(self, message_id: str, *, error: str) -> None:
        await self.writes(outbox.fail, self.engine, message_id, error=error, now=self.clock.now())

    async def release(self, message_id: str, owner: str | None = None) -> None:
        await self.writes(outbox.release, self.engine, message_id, now=self.clock.now(), owner=owner)


class Gateway:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        timing: Timing | None = None,
        engine: Engine | None = None,
        extensions: Extensions | None = None,
        ports: Callable[[], list[str]] = serial_ports,
    ) -> None:
        self.settings = settings
        self.ports = ports  # the serial ports present, where modems known by IMEI are looked for
        self.clock = clock or SystemClock()
        self.timing = timing or Timing()
        self.engine = engine or create_engine_for(settings.database_url)
        self.extensions = extensions or Extensions()
        self.writes = Writes(self.engine)
        # Status reports from all modems, written together while a write is running.
        self.report_queue: ReportQueue[tuple[str, SmsStatusReport, str], reports.StoredReport] = ReportQueue(
            self._store_reports
        )
        self.leases = ModemLeases(
            self.engine,
            [m.id for m in settings.effective_modems()],
            lease=timedelta(seconds=settings.modem_lease),
            me=Node.this(settings.node_id),
            monotonic=self.clock.monotonic,
        )
        self._database_lock = DatabaseLock.for_url(settings.database_url)
        self._owner = False
        self.store = OutboxWorkStore(
            self.engine,
            self.clock,
            self.writes,
            self.extensions.claim_policy,
            owns=self.leases.holds,
            lease=timedelta(seconds=settings.message_lease),
        )
        self.workers: dict[str, ModemWorker] = {}
        self.uncommitted = Uncommitted()  # send results waiting for storage, of all workers
        self._worker_tasks: list[asyncio.Task[Any]] = []
        self._drain_deadline: float | None = None
        self._drain_started = 0.0
        self.simulated: SimulatedModems | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._campaigns_due: asyncio.Event | None = None
        self._rotation = 0
        self.started = False
        self.metrics = GatewayMetrics(self.engine, lambda: self.workers)

    # --- life cycle ---------------------------------------------------------------------

    def prepare(self) -> None:
        """Create or upgrade the schema (safe to call from several processes)."""
        migrate(self.engine)

    def acquire(self) -> None:
        """Become the one gateway of this SQLite database and the owner of the configured
        modem ids, and bring the schema up to date: AlreadyRunning or ModemHeld (one line
        each, naming the other gateway) when another one runs them. Called by `start`;
        `modemgate serve` calls it first, to refuse before serving anything."""
        if self._owner:
            return
        if self._database_lock is not None:
            self._database_lock.acquire()
        try:
            self.prepare()
            self.leases.acquire(now=self.clock.now())
        except BaseException:
            if self._database_lock is not None:
                self._database_lock.release()
            raise
        self._owner = True

    def give_up(self) -> None:
        """Give the modem leases and the database lock up (after the drain)."""
        if not self._owner:
            return
        self._owner = False
        try:
            self.leases.release()
        except Exception:
            log.exception("could not give up the modem leases; they expire in %s s", self.settings.modem_lease)
        if self._database_lock is not None:
            self._database_lock.release()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.acquire)  # takes its own locks
        modems = self.settings.effective_modems()
        recovered = await self.writes(outbox.recover, self.engine, now=self.clock.now(), owners=[m.id for m in modems])
        if recovered.messages:
            log.warning(
                "recovered %d unfinished messages; %d parts may be sent twice",
                len(recovered.messages),
                len(recovered.uncertain_parts),
            )
        self.simulated = await start_simulated_modems(modems)
        sent_today = await asyncio.to_thread(self._sent_today, modems)
        for m in modems:
            self.workers[m.id] = self._worker(m, sent_today[m.id])
            if self._drain_deadline is not None:  # stopped while starting
                self.workers[m.id].begin_stop(self._drain_deadline)
        self._worker_tasks = [asyncio.ensure_future(w.run()) for w in self.workers.values()]
        self._tasks = [asyncio.ensure_future(self._renew_leases())]
        self._tasks.append(asyncio.ensure_future(self._watch_queue()))
        self._tasks.append(asyncio.ensure_future(self._deliver_webhooks()))
        self._tasks.append(asyncio.ensure_future(self._housekeeping()))
        self._campaigns_due = asyncio.Event()
        if self.extensions.run_due is not None:
            self._tasks.append(asyncio.ensure_future(self._run_due(self.extensions.run_due)))
        self.started = True

    def begin_drain(self, grace: float | None = None) -> None:
        """Stop claiming now and give the messages in hand `grace` seconds (default
        `drain_timeout`) to finish; `stop` waits for them. Called from the loop's thread
        (`modemgate serve` calls it on SIGTERM/SIGINT, before the HTTP server winds down)."""
        if self._drain_deadline is not None:
            return
        self._drain_started = self.clock.monotonic()
        self._drain_deadline = self._drain_started + (self.settings.drain_timeout if grace is None else grace)
        for worker in self.workers.values():
            worker.begin_stop(self._drain_deadline)

    def request_drain(self) -> None:
        """`begin_drain`, from any thread or a signal handler."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.begin_drain)

    async def stop(self) -> None:
        """Drain (see the module's docstring), stop the background loops, give the modems up."""
        self.begin_drain()
        assert self._drain_deadline is not None
        pending = {t for t in self._worker_tasks if not t.done()}
        if pending:
            timer = asyncio.ensure_future(self.clock.sleep(max(0.0, self._drain_deadline - self.clock.monotonic())))
            try:
                while pending and not timer.done():
                    _, pending = await asyncio.wait(pending | {timer}, return_when=asyncio.FIRST_COMPLETED)
                    pending.discard(timer)
            finally:
                timer.cancel()
        cut = [w for w in self.workers.values() if w.in_hand is not None]
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._worker_tasks, return_exceptions=True)
        if self.workers:
            self._log_drain(cut)
        for task in self._tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.simulated is not None:
            self.simulated.close()
        await asyncio.to_thread(self.give_up)
        self.started = False

    def _log_drain(self, cut: list[ModemWorker]) -> None:
        total = Drained()
        for worker in self.workers.values():
            for name in ("finished", "parts_sent", "released", "parts_left"):
                setattr(total, name, getattr(total, name) + getattr(worker.drained, name))
        took = self.clock.monotonic() - self._drain_started
        log.log(
            logging.WARNING if cut else logging.INFO,
            "drained in %.1f s: %d messages in hand finished (%d parts sent while stopping), %d given back "
            "with %d parts unsent (they go after the restart), %d cut off inside AT+CMGS",
            took,
            total.finished,
            total.parts_sent,
            total.released,
            total.parts_left,
            len(cut),
        )
        for worker in cut:
            log.warning(
                "%s: message %s was cut off after %s s: its part in flight may be sent twice after the restart",
                worker.modem_id,
                worker.in_hand,
                self.settings.drain_timeout,
            )

    def _sent_today(self, modems: Sequence[ModemSettings]) -> dict[str, int]:
        """Each modem's parts so far on its day: a restart keeps counting towards the cap."""
        now = self.clock.now()
        starts = {}
        for m in modems:
            zone = ZoneInfo(m.time_zone)
            starts[m.id] = day_start(modem_day(now, zone), zone)
        return outbox.parts_sent_since(self.engine, starts)

    def _worker(self, m: ModemSettings, sent_today: int = 0) -> ModemWorker:
        url = m.port
        if m.simulated and self.simulated is not None:
            url = self.simulated.urls[m.id]
        config = ModemConfig(
            pin=m.pin,
            smsc=m.smsc,
            command_timeout=self.timing.command_timeout,
            send_timeout=self.timing.send_timeout,
        )
        # The transport edge: a recording, when asked for, of everything said on the port.
        transport = recording_transport(m.record) if m.record else open_transport
        link = ModemLink(
            url,
            config,
            name=m.id,
            opener=functools.partial(open_modem, transport=transport),
            sleep=self.clock.sleep,
            initial_backoff=self.timing.reconnect_initial,
            max_backoff=self.timing.reconnect_max,
            locate=self._locator(m, transport) if m.imei else None,
        )
        zone = ZoneInfo(m.time_zone)
        pacer = Pacer(
            m.rate,
            m.burst,
            m.daily_cap,
            now=self.clock.monotonic(),
            today=modem_day(self.clock.now(), zone),
            sent_today=sent_today,
        )
        worker = ModemWorker(
            m.id,
            link,
            pacer,
            self.store,
            clock=self.clock,
            on_incoming=self._on_incoming,
            idle_poll=self.timing.idle_poll,
            health_interval=self.timing.health_interval,
            storage_poll=m.storage_poll or self.timing.storage_poll,
            on_part_sent=self.metrics.observe_send,
            reprobe_initial=self.timing.reconnect_initial,
            reprobe_max=self.timing.reconnect_max,
            uncommitted=self.uncommitted,
            recovery=self._recovery(m, link, transport),
            time_zone=zone,
            idle_rescan=self.timing.idle_rescan,
        )
        worker.enable(m.enabled)
        return worker

    def _recovery(self, m: ModemSettings, link: ModemLink, transport: Callable[[str], Awaitable[Any]]) -> Recovery:
        """The soft reset and the operator's command for modem `m` (hardware.md)."""
        reset_wait = min(5.0, self.timing.command_timeout)

        async def reset() -> str:
            return await soft_reset(link.url, m.reset_command, timeout=reset_wait, transport=transport)

        async def command() -> str:
            assert m.recovery_command is not None
            env = {"MODEMGATE_MODEM": m.id, "MODEMGATE_PORT": link.url}
            return await run_operator_command(m.recovery_command, timeout=m.recovery_timeout, env=env)

        plan = RecoveryPlan(m.reset_after, m.recovery_command_after, m.recovery_command is not None)
        return Recovery(
            plan,
            soft_reset=reset,
            operator_command=command if m.recovery_command else None,
            now=self.clock.now,
            name=m.id,
        )

    def _locator(self, m: ModemSettings, transport: Callable[[str], Awaitable[Any]]) -> Callable[[], Awaitable[str]]:
        """Finds modem `m` by its IMEI among the ports present, skipping those other modems
        of this gateway have open; where it was last seen is tried first."""
        imei = m.imei
        assert imei is not None
        wait = min(2.0, self.timing.command_timeout)

        async def locate() -> str:
            taken = {w.link.url for w in self.workers.values() if w.modem_id != m.id and w.link.modem is not None}
            last = self.workers[m.id].link.url if m.id in self.workers else None
            present = [p for p in await asyncio.to_thread(self.ports) if p not in taken]
            candidates = ([last] if last in present else []) + [p for p in present if p != last]
            found = await find_by_imei(imei, candidates, timeout=wait, transport=transport)
            if found is None:
                raise ModemGone(f"{m.id}: no modem with IMEI {imei[:5]}… on the {len(candidates)} ports present")
            return found

        return locate

    # --- used by the API ----------------------------------------------------------------

    def submit(self, *, api_key_id: int | None, to: str, text: str, **options: Any) -> outbox.Submission:
        """Queue a message (committed before this returns) and wake the modems."""
        recipient = self.recipient(to)
        modem = options.get("modem")
        if modem is not None and modem not in self.settings_modem_ids():
            raise InvalidInput("modem", f"no modem {modem!r}; have {', '.join(self.settings_modem_ids())}")
        if options.get("callback_url") is not None:
            self.check_callback_url(options["callback_url"], field="callback_url")
        with session(self.engine) as s:
            time_zone = self.extensions.recipient_time_zone
            if options.get("category") == "marketing" and time_zone is not None:
                options["time_zone"] = time_zone(s, recipient)  # its send window is in the recipient's time
            options.setdefault("languages", tuple(self.settings.sms.languages))
            options.setdefault("transliterate", self.settings.sms.transliterate)
            submitted = self.writes.now(
                outbox.submit, s, api_key_id=api_key_id, recipient=recipient, text=text, now=self.clock.now(), **options
            )
        if submitted.created:
            self.wake(1, modem=modem)
        return submitted

    def recipient(self, to: str) -> str:
        """`to` in E.164 (national numbers in the default region), else InvalidInput."""
        return normalise_number(to, self.settings.default_region, field="to")

    def check_callback_url(self, url: str, *, field: str) -> None:
        """InvalidInput unless the gateway may fetch `url` (the egress policy)."""
        egress.check_url(url, self.egress_policy(), field=field)

    def egress_policy(self) -> egress.EgressPolicy:
        """Where webhooks and callbacks may go (`[webhooks]` allow_networks, allow_hosts)."""
        hooks = self.settings.webhooks
        return egress.EgressPolicy.of(hooks.allow_networks, hooks.allow_hosts)

    def settings_modem_ids(self) -> list[str]:
        return [m.id for m in self.settings.effective_modems()]

    def call_in_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn` in the gateway's event loop (where the simulator lives) from a worker thread."""
        if self._loop is None:
            raise RuntimeError("gateway not started")
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:  # handed back to the calling thread
                fut.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return fut.result(10)

    def wake(self, count: int | None = None, *, modem: str | None = None) -> None:
        """New messages may be waiting (any thread): wake `count` idle workers (None: all),
        or the worker of `modem` when the message is for that one."""
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._wake_idle, count, modem)

    def _wake_idle(self, count: int | None, modem: str | None) -> None:
        if modem is not None:
            if modem in self.workers:
                self.workers[modem].wake()
            return
        idle = [w for w in self.workers.values() if w.waiting_for_work]
        if count is None or count >= len(idle):
            for worker in self.workers.values():
                worker.wake()
            return
        # One new message needs one modem, not a stampede of claims from every idle one:
        # the least loaded go first, and of equals each in turn (the rotation).
        self._rotation = (self._rotation + 1) % len(idle)
        turn = idle[self._rotation :] + idle[: self._rotation]
        turn.sort(key=lambda w: -w.pacing().tokens / max(1, w.pacer.burst))
        for worker in turn[:count]:
            worker.wake()

    def wake_campaigns(self) -> None:
        """A campaign was scheduled: look for due ones now, not at the next poll (any thread)."""
        if self._loop is not None and self._campaigns_due is not None:
            self._loop.call_soon_threadsafe(self._campaigns_due.set)

    # --- background ---------------------------------------------------------------------

    async def _renew_leases(self) -> None:
        lost: set[str] = set()
        while True:
            await self.clock.sleep(self.settings.modem_lease / 3)
            try:
                taken = set(await self.writes(self.leases.renew, now=self.clock.now()))
            except Exception:
                log.exception("renewing the modem leases failed; trying again")
                continue
            for modem_id in sorted(taken - lost):
                log.error("%s: another gateway took this modem; it sends nothing more here", modem_id)
            lost = taken

    async def _watch_queue(self) -> None:
        """Wake idle workers for due work they were not told about: messages queued by
        another node on the same database, retries and deferred messages coming due, leases
        that lapsed. One read for the whole gateway instead of a claim per idle modem."""
        while True:
            await self.clock.sleep(self.timing.idle_poll)
            idle = sum(w.waiting_for_work for w in self.workers.values())
            if not idle:
                continue
            try:
                targets = await asyncio.to_thread(outbox.due_targets, self.engine, now=self.clock.now(), limit=idle)
            except Exception as exc:
                log.debug("looking at the queue failed: %s", exc)
                continue
            anywhere = 0
            for target in targets:
                if target is None:
                    anywhere += 1
                elif target in self.workers:
                    self.workers[target].wake()
            if anywhere:
                self._wake_idle(anywhere, None)

    async def _on_incoming(self, modem_id: str, item: Incoming) -> None:
        now = self.clock.now()
        if item.sms is None:
            await self.writes(inbound.store_undecodable, self.engine, modem_id, item.pdu, item.error or "", now=now)
        elif isinstance(item.sms, SmsStatusReport):
            await self.report_queue.store((modem_id, item.sms, item.pdu))
        elif isinstance(item.sms, SmsDeliver):
            queued: list[str] = []
            hook = self.extensions.on_inbound

            def on_complete(s: Session, message: InboundMessage) -> None:
                if hook is not None:
                    queued.extend(hook(s, message, now))

            await self.writes(
                inbound.store_inbound, self.engine, modem_id, item.sms, item.pdu, now=now, on_complete=on_complete
            )
            if queued:
                self.wake()
        else:
            # An SMS-SUBMIT in the inbox (a sent copy the modem kept): keep it visible.
            await self.writes(
                inbound.store_undecodable,
                self.engine,
                modem_id,
                item.pdu,
                "a sent message, not a received one",
                now=now,
            )

    async def _store_reports(self, items: list[tuple[str, SmsStatusReport, str]]) -> list[reports.StoredReport]:
        return await self.writes(reports.store_reports, self.engine, items, now=self.clock.now())

    async def _deliver_webhooks(self) -> None:
        await courier.run(
            self.engine, self.clock, self.settings.webhooks, poll=self.timing.webhook_poll, run_db=self.writes
        )

    async def _run_due(self, run_due: Callable[[Engine, datetime], int]) -> None:
        assert self._campaigns_due is not None
        while True:
            self._campaigns_due.clear()
            try:
                # Not in `writes`' turn: a large campaign expands in many short
                # transactions, and the modems' writes go in between them.
                queued = await asyncio.to_thread(run_due, self.engine, self.clock.now())
                if queued:
                    for worker in self.workers.values():
                        worker.wake()
            except Exception:
                log.exception("campaign round failed")
            sleeper = asyncio.ensure_future(self.clock.sleep(self.timing.campaign_poll))
            woken = asyncio.ensure_future(self._campaigns_due.wait())
            try:
                await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                woken.cancel()

    async def _housekeeping(self) -> None:
        while True:
            now = self.clock.now()
            try:
                await self.writes(outbox.expire, self.engine, now=now)
                await self.writes(inbound.flag_incomplete, self.engine, now=now)
            except Exception:
                log.exception("housekeeping round failed")
            await self.clock.sleep(self.timing.housekeeping)
