"""Keeping one modem usable: open, initialise, watch, and reopen after it drops out.

USB modems vanish (brown-outs, hub resets, firmware crashes) and come back under the same
`/dev/serial/by-id` name. `ModemLink` reopens the port with exponential backoff, and
meanwhile reports itself down so work goes to other modems. Sleeping is injected, so
tests run the backoff schedule without waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from drivers._exceptions import AtError, ModemGone
from drivers.at.modem import Health, Modem, ModemConfig, open_modem

__all__ = ["ModemLink", "LinkState", "backoff_delays"]

log = logging.getLogger("modemgate.link")

LinkState = Literal["connecting", "ready", "down", "stopped"]


def backoff_delays(initial: float, maximum: float) -> Callable[[int], float]:
    """Delay before reconnect attempt n (1-based): initial, 2×, 4× … capped at maximum."""

    def delay(attempt: int) -> float:
        return min(maximum, initial * float(2 ** max(0, attempt - 1)))

    return delay


class ModemLink:
    """One configured modem port and the `Modem` currently open on it, if any."""

    def __init__(
        self,
        url: str,
        config: ModemConfig | None = None,
        *,
        name: str | None = None,
        opener: Callable[..., Awaitable[Modem]] = open_modem,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        initial_backoff: float = 1.0,
        max_backoff: float = 60.0,
        locate: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        self.url = url
        # Finds the port before each open (a modem known by its IMEI); raises AtError when
        # it is nowhere to be found, which counts as a failed attempt.
        self._locate = locate
        self.name = name or url
        self.config = config or ModemConfig()
        self._opener = opener
        self._sleep = sleep
        self._delay = backoff_delays(initial_backoff, max_backoff)
        self.modem: Modem | None = None
        self.state: LinkState = "down"
        self.failures = 0  # consecutive failed attempts to open + initialise
        self.last_error: str | None = None
        self.reconnects = 0

    async def connect(self, *, attempts: int | None = None) -> Modem:
        """Open and initialise, retrying with backoff; `attempts` None means until it works.

        Raises the last error once `attempts` are used up.
        """
        tried = 0
        if self.modem is not None:
            await self._drop(self.last_error or "reconnecting")
        while True:
            self.state = "connecting"
            tried += 1
            modem: Modem | None = None
            try:
                if self._locate is not None:
                    self.url = await self._locate()
                modem = await self._opener(self.url, self.config, name=self.name)
                await modem.initialize()
            except AtError as exc:
                if modem is not None:
                    await modem.close()
                self.failures += 1
                self.last_error = str(exc)
                self.state = "down"
                log.warning("%s: %s (attempt %d)", self.name, exc, self.failures)
                if attempts is not None and tried >= attempts:
                    raise
                await self._sleep(self._delay(self.failures))
                continue
            if self.modem is not None:
                self.reconnects += 1
            self.modem = modem
            self.failures = 0
            self.last_error = None
            self.state = "ready"
            return modem

    @property
    def retry_delay(self) -> float:
        """How long to wait before the next attempt after the failures so far."""
        return self._delay(max(1, self.failures))

    async def check(self) -> Health:
        """Poll health; a modem that is gone or hung is closed and marked down (raises ModemGone)."""
        if self.modem is None or self.modem.gone:
            await self._drop("port gone")
            raise ModemGone(f"{self.name}: not connected")
        try:
            return await self.modem.health()
        except ModemGone as exc:
            await self._drop(str(exc))
            raise

    async def reconnect(self) -> Modem:
        """Close whatever is open and connect again (with backoff)."""
        await self._drop(self.last_error or "reconnect requested")
        return await self.connect()

    async def _drop(self, reason: str) -> None:
        if self.modem is not None:
            try:
                await self.modem.close()
            except Exception:  # closing a dead port may fail in many ways; it is closed either way
                log.debug("%s: error while closing", self.name, exc_info=True)
        self.state = "down"
        self.last_error = reason

    async def close(self) -> None:
        if self.modem is not None:
            await self.modem.close()
        self.state = "stopped"
