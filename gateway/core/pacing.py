"""Per-modem pacing: token bucket, daily cap, and slowing down when the network pushes back.

Operators watch how fast a SIM sends (see hardware.md); the unit they count is the SMS
part, so every part takes one token. The bucket holds at most `burst` tokens and refills
at `sends_per_minute` (`math.inf`: unlimited, for simulated modems in benchmarks). A daily
cap counts parts per calendar day (the caller says which day it is, in the modem's time
zone) and is never crossed: `room` tells the claim how many parts it may take on
(gateway.core.dailycap).

Slow-down is AIMD, as in TCP congestion control: a throttling error halves the rate
(down to a floor), and each success afterwards gives back a tenth of the configured rate
until it is whole again. Time is passed in (monotonic seconds for the bucket, an aware
datetime for the day), so tests drive it without sleeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime

from gateway.core.dailycap import claim_limit

__all__ = ["Pacer", "PacingSnapshot"]

_MIN_FRACTION = 0.125  # never below 1/8 of the configured rate
_RECOVERY_STEP = 0.1


@dataclass(frozen=True)
class PacingSnapshot:
    """What `GET /v1/modems` shows of a modem's pacing."""

    sends_per_minute: float  # configured (math.inf: unlimited)
    effective_per_minute: float  # after slow-down
    burst: int
    tokens: float
    daily_cap: int
    sent_today: int
    slowed_down: bool


class Pacer:
    def __init__(
        self,
        sends_per_minute: float,
        burst: int,
        daily_cap: int = 0,
        *,
        now: float = 0.0,
        sent_today: int = 0,
        today: date | None = None,
    ) -> None:
        if sends_per_minute <= 0 or burst < 1 or daily_cap < 0:
            raise ValueError("sends_per_minute must be > 0, burst >= 1, daily_cap >= 0")
        self.sends_per_minute = sends_per_minute
        self.burst = burst
        self.daily_cap = daily_cap
        self._fraction = 1.0
        self._tokens = float(burst)
        self._stamp = now
        self._day = today or datetime.now(UTC).date()
        self._sent_today = sent_today

    # --- configuration ------------------------------------------------------------------

    def configure(
        self,
        *,
        sends_per_minute: float | None = None,
        burst: int | None = None,
        daily_cap: int | None = None,
        now: float,
    ) -> None:
        """Change the rate (PATCH /v1/modems/{id}); tokens already earned are kept."""
        self._refill(now)
        if sends_per_minute is not None:
            if sends_per_minute <= 0:
                raise ValueError("sends_per_minute must be > 0")
            self.sends_per_minute = sends_per_minute
        if burst is not None:
            if burst < 1:
                raise ValueError("burst must be >= 1")
            self.burst = burst
            self._tokens = min(self._tokens, float(burst))
        if daily_cap is not None:
            if daily_cap < 0:
                raise ValueError("daily_cap must be >= 0")
            self.daily_cap = daily_cap

    @property
    def effective_per_minute(self) -> float:
        return self.sends_per_minute * self._fraction

    # --- taking turns -------------------------------------------------------------------

    @property
    def unlimited(self) -> bool:
        return math.isinf(self.sends_per_minute)

    def room(self, today: date) -> int | None:
        """Parts that may still go `today` (None: no daily cap; 0: capped until tomorrow)."""
        self._roll_day(today)
        return claim_limit(self.daily_cap, self._sent_today)

    def delay(self, now: float, today: date) -> float | None:
        """Seconds until a part may be sent (0: now); None when the daily cap is reached."""
        if self.room(today) == 0:
            return None
        if self.unlimited:
            return 0.0
        self._refill(now)
        if self._tokens >= 1.0:
            return 0.0
        return (1.0 - self._tokens) * 60.0 / self.effective_per_minute

    def take(self, now: float, today: date) -> bool:
        """Use one token for a part about to be sent; False if none is available."""
        if self.delay(now, today) != 0.0:
            return False
        if not self.unlimited:
            self._tokens -= 1.0
        self._sent_today += 1
        return True

    def give_back(self) -> None:
        """A part that took a token never reached the network (refused before sending)."""
        self._tokens = min(float(self.burst), self._tokens + 1.0)
        self._sent_today = max(0, self._sent_today - 1)

    # --- feedback -----------------------------------------------------------------------

    def throttled(self, now: float) -> None:
        """The network pushed back (congestion, SMSC busy): halve the rate."""
        self._refill(now)
        self._fraction = max(_MIN_FRACTION, self._fraction / 2)

    def succeeded(self, now: float) -> None:
        self._refill(now)
        self._fraction = min(1.0, self._fraction + _RECOVERY_STEP)

    def snapshot(self, now: float, today: date) -> PacingSnapshot:
        self._roll_day(today)
        self._refill(now)
        return PacingSnapshot(
            sends_per_minute=self.sends_per_minute,
            effective_per_minute=self.effective_per_minute,
            burst=self.burst,
            tokens=self._tokens,
            daily_cap=self.daily_cap,
            sent_today=self._sent_today,
            slowed_down=self._fraction < 1.0,
        )

    # --- internals ----------------------------------------------------------------------

    def _refill(self, now: float) -> None:
        elapsed = now - self._stamp
        if self.unlimited:
            self._tokens = float(self.burst)
        elif elapsed > 0:
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.effective_per_minute / 60.0)
        self._stamp = max(self._stamp, now)

    def _roll_day(self, today: date) -> None:
        if today != self._day:
            self._day = today
            self._sent_today = 0
