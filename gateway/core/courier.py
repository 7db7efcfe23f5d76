"""The courier: posts leased webhook deliveries so that one slow receiver delays no one else.

- Per endpoint (one key's receiving server, webhooks.endpoint): at most `concurrency` attempts at
  once, and a circuit breaker (hookpolicy.Breaker). Endpoints run concurrently, up to
  `total` attempts in all; an endpoint that is full or paused is left out of the lease
  query, so its backlog never stands in front of another's.
- Every attempt is cut at `attempt_timeout` seconds all included (connect, TLS, sending,
  the answer's head): httpx's own timeouts count per read, and a receiver trickling one
  byte every few seconds would otherwise hold an attempt for minutes. The answer's body is
  never read.
- Every attempt is signed with the time it is made.
- A delivery is leased only when its attempt starts, for longer than an attempt may take,
  so two gateway processes never post it at once.

Decisions (backoff, the breaker) are in hookpolicy; storage in webhooks; this module is
the I/O between them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from sqlalchemy.engine import Engine

from gateway.core import dlr, egress, webhooks
from gateway.core.clock import Clock
from gateway.core.hookpolicy import Breaker
from gateway.core.signing import SIGNATURE_HEADER, sign

if TYPE_CHECKING:
    from gateway.core.settings import WebhookSettings

__all__ = ["Courier", "Outcome", "HeldClock", "post", "run", "client_for"]

log = logging.getLogger("modemgate.webhooks")

T = TypeVar("T")
RunDb = Callable[..., Awaitable[Any]]
_LEASE_MARGIN = 30.0  # seconds a lease outlasts the longest attempt (recording it included)


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status, when an answer came
    error: egress.Reason | None  # None: delivered

    @property
    def ok(self) -> bool:
        return self.error is None


async def run(
    engine: Engine, clock: Clock, settings: WebhookSettings, *, poll: float, run_db: RunDb | None = None
) -> None:
    """Deliver webhooks until cancelled, as `[webhooks]` says (the gateway's background loop)."""
    async with client_for(settings) as client:
        courier = Courier(
            engine,
            client,
            clock,
            run_db=run_db,
            concurrency=settings.per_endpoint,
            attempt_timeout=settings.timeout,
        )
        await courier.run(poll)


def client_for(settings: WebhookSettings) -> httpx.AsyncClient:
    """The HTTP client of webhooks: only to allowed addresses, no redirects, no proxies."""
    policy = egress.EgressPolicy.of(settings.allow_networks, settings.allow_hosts)
    return httpx.AsyncClient(
        transport=egress.PinnedTransport(policy),
        timeout=httpx.Timeout(settings.timeout),
        follow_redirects=False,  # a redirect could point anywhere
        trust_env=False,
        headers={"User-Agent": "modemgate-webhooks"},
    )


class Courier:
    def __init__(
        self,
        engine: Engine,
        client: httpx.AsyncClient,
        clock: Clock,
        *,
        run_db: RunDb | None = None,
        concurrency: int = 4,
        total: int = 64,
        attempt_timeout: float = 15.0,
        breaker: Callable[[], Breaker] = Breaker,
    ) -> None:
        self.engine = engine
        self.client = client
        self.clock = clock
        self.concurrency = concurrency
        self.total = total
        self.attempt_timeout = attempt_timeout
        self._run_db: RunDb = run_db or asyncio.to_thread
        self._new_breaker = breaker
        self.breakers: dict[str, Breaker] = {}
        self.in_flight: dict[str, int] = {}
        self._tasks: set[asyncio.Task[Outcome]] = set()
        self._done = asyncio.Event()
        self.delivered = 0

    async def run(self, poll: float) -> None:
        """Rounds until cancelled: one when an attempt ends, else every `poll` seconds."""
        try:
            while True:
                self._done.clear()
                try:
                    await self.round()
                except Exception:  # the database may be briefly unavailable; try again later
                    log.exception("webhook delivery round failed")
                sleeper = asyncio.ensure_future(self.clock.sleep(poll))
                done = asyncio.ensure_future(self._done.wait())
                try:
                    await asyncio.wait({sleeper, done}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    sleeper.cancel()
                    done.cancel()
        finally:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # before the client closes

    async def round(self) -> int:
        """Lease what may start now and start it; returns how many attempts started."""
        now = self.clock.now()
        room = self.total - len(self._tasks)
        known = set(self.breakers) | set(self.in_flight)
        skip = {ep for ep in known if self._slots(ep, now) == 0}
        due: list[webhooks.Due] = await self._run_db(
            webhooks.lease_due,
            self.engine,
            now=now,
            slots=lambda ep: self._slots(ep, now),
            skip=skip,
            limit=room,
            lease=timedelta(seconds=self.attempt_timeout + _LEASE_MARGIN),
        )
        for delivery in due:
            self._start(delivery)
        return len(due)

    async def settle(self) -> int:
        """Rounds until nothing more is due and every attempt ended; how many were delivered."""
        while True:
            started = await self.round()
            if self._tasks:
                await asyncio.wait(set(self._tasks))
            elif not started:
                return self.delivered

    def _slots(self, endpoint: str, now: datetime) -> int:
        breaker = self.breakers.get(endpoint)
        in_flight = self.in_flight.get(endpoint, 0)
        if breaker is None:
            return max(0, self.concurrency - in_flight)
        return breaker.slots(now, self.concurrency, in_flight)

    def _start(self, delivery: webhooks.Due) -> None:
        endpoint = delivery.endpoint
        breaker = self.breakers.setdefault(endpoint, self._new_breaker())
        breaker.started(self.clock.now())
        self.in_flight[endpoint] = self.in_flight.get(endpoint, 0) + 1
        task = asyncio.ensure_future(self._attempt(delivery, breaker))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, delivery: webhooks.Due, breaker: Breaker) -> Outcome:
        try:
            outcome = await post(self.client, delivery, now=self.clock.now, timeout=self.attempt_timeout)
        finally:
            self.in_flight[delivery.endpoint] -= 1
        finished = self.clock.now()
        if outcome.ok:
            breaker.succeeded()
            self.delivered += 1
        else:
            paused = breaker.paused_until
            breaker.failed(finished)
            log.info("webhook delivery %s to %s failed: %s", delivery.id, redact(delivery.url), outcome.error)
            if breaker.paused_until != paused and breaker.paused_until is not None:
                log.warning("webhook endpoint %s paused until %s (failing); then one delivery probes it",
                            delivery.endpoint, breaker.paused_until.isoformat(timespec="seconds"))  # fmt: skip
        try:
            await self._run_db(
                webhooks.record,
                self.engine,
                delivery,
                attempted_at=finished,
                status=outcome.status,
                error=outcome.error,
            )
        except Exception:  # the lease runs out and the delivery is tried again
            log.exception("could not record webhook delivery %s", delivery.id)
        finally:
            self._done.set()
        return outcome


async def post(
    client: httpx.AsyncClient, delivery: webhooks.Due, *, now: Callable[[], datetime], timeout: float
) -> Outcome:
    """One attempt, signed now and cut at `timeout` seconds all included. A Kannel-style
    delivery report (gateway.core.dlr) is a GET of its filled-in URL, as Kannel makes it."""
    if delivery.event == dlr.EVENT:
        return await _fetch(client, delivery, timeout=timeout)
    body = delivery.payload.encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "Modemgate-Event": delivery.event,
        "Modemgate-Delivery": str(delivery.id),
        SIGNATURE_HEADER: sign(delivery.secret, body, int(now().timestamp())),
    }
    try:
        async with asyncio.timeout(timeout):
            request = client.build_request("POST", delivery.url, content=body, headers=headers)
            response = await client.send(request, stream=True)
            await response.aclose()  # the status is the answer; the body is not read
    except Exception as exc:  # every failure is one coarse reason; the log keeps the detail
        reason = egress.reason_for(exc)
        log.debug("webhook delivery %s: %s (%r)", delivery.id, reason, exc)
        return Outcome(None, reason)
    if 200 <= response.status_code < 300:
        return Outcome(response.status_code, None)
    return Outcome(response.status_code, "http_status")


async def _fetch(client: httpx.AsyncClient, delivery: webhooks.Due, *, timeout: float) -> Outcome:
    try:
        async with asyncio.timeout(timeout):
            response = await client.send(client.build_request("GET", delivery.url), stream=True)
            await response.aclose()
    except Exception as exc:
        reason = egress.reason_for(exc)
        log.debug("delivery report %s: %s (%r)", delivery.id, reason, exc)
        return Outcome(None, reason)
    if 200 <= response.status_code < 300:
        return Outcome(response.status_code, None)
    return Outcome(response.status_code, "http_status")


class HeldClock:
    """A clock that stays at one time (`webhooks.deliver_due`'s single round)."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


def redact(url: str) -> str:
    """A URL for logs: query strings often carry tokens."""
    return url.split("?", 1)[0]
