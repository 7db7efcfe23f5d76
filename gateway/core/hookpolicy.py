"""When to post a webhook delivery again, and when to leave an endpoint alone: pure decisions.

No I/O and no clock of its own: every function takes the time it decides for, so the
courier (gateway.core.courier) does the posting and the tests walk the decisions through
tables.

- Backoff is counted per delivery from its own last attempt, and spread a little by the
  delivery's id, so deliveries that failed together are not all due again at one instant.
- A circuit breaker per endpoint (a receiving server): after `failures` consecutive failed
  attempts the endpoint is paused; when the pause is over one delivery goes as a probe;
  its success resumes the endpoint, its failure pauses it again for twice as long (up to
  `max_pause`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["GIVE_UP_AFTER", "backoff", "next_attempt", "Breaker"]

GIVE_UP_AFTER = timedelta(hours=24)
_MAX_SPREAD = 0.25  # a retry comes up to a quarter of its backoff later


def backoff(attempt: int) -> timedelta:
    """Delay after failed attempt n: 10 s, 20 s, 40 s … capped at 1 hour."""
    return timedelta(seconds=min(3600, 10 * 2 ** max(0, attempt - 1)))


def spread(delivery_id: int) -> float:
    """A fixed share in [0, 0.25) per delivery (Knuth's multiplicative hash of its id)."""
    return (delivery_id * 2654435761 % 2**32) / 2**32 * _MAX_SPREAD


def next_attempt(delivery_id: int, attempts: int, attempted_at: datetime, created_at: datetime) -> datetime | None:
    """When a delivery whose attempt number `attempts` failed at `attempted_at` is due
    again; None when that would be over GIVE_UP_AFTER since it was queued (give up)."""
    delay = backoff(attempts) * (1 + spread(delivery_id))
    due = attempted_at + delay
    if due - created_at > GIVE_UP_AFTER:
        return None
    return due


@dataclass
class Breaker:
    """The circuit breaker of one endpoint. Ask `slots` how many deliveries may start now;
    tell it `started`, then `succeeded` or `failed`, for each."""

    failures: int = 5  # consecutive failures that pause the endpoint
    pause: timedelta = timedelta(seconds=30)
    max_pause: timedelta = timedelta(minutes=10)
    failed_in_row: int = 0
    paused_until: datetime | None = None
    pauses: int = 0  # pauses in a row, for the doubling
    probing: bool = False

    def state(self, now: datetime) -> str:
        if self.paused_until is None:
            return "closed"
        return "open" if now < self.paused_until else "half-open"

    def slots(self, now: datetime, concurrency: int, in_flight: int) -> int:
        """How many more deliveries to this endpoint may start at `now`."""
        state = self.state(now)
        if state == "closed":
            return max(0, concurrency - in_flight)
        if state == "open" or self.probing or in_flight:
            return 0
        return 1  # the probe

    def started(self, now: datetime) -> None:
        if self.state(now) == "half-open":
            self.probing = True

    def succeeded(self) -> None:
        self.failed_in_row = 0
        self.paused_until = None
        self.pauses = 0
        self.probing = False

    def failed(self, now: datetime) -> None:
        if self.probing:
            self.probing = False
            self._pause(now)
        elif self.paused_until is None:
            self.failed_in_row += 1
            if self.failed_in_row >= self.failures:
                self._pause(now)
        # else: an attempt begun before the pause failed too; the pause already counts it

    def _pause(self, now: datetime) -> None:
        self.pauses += 1
        self.paused_until = now + min(self.max_pause, self.pause * 2 ** (self.pauses - 1))
