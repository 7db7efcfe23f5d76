"""Helpers for simulator tests: a fake clock, the serial line of a sans-IO modem, and
polling helpers for tests that watch a simulator running in its own thread."""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime

from drivers.simulator.modem import SimulatedModem

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)


class FakeClock:
    """`call_later` that only fires when the test advances time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    def call_later(self, delay: float, fn: Callable[[], None]) -> object:
        entry = (self.now + max(delay, 0.0), next(self._seq), fn)
        heapq.heappush(self._queue, entry)
        return entry

    def advance(self, seconds: float = 0.0) -> None:
        """Run, in time order, everything due within `seconds` from now (including what
        those callbacks schedule within the window)."""
        until = self.now + seconds
        while self._queue and self._queue[0][0] <= until:
            when, _, fn = heapq.heappop(self._queue)
            self.now = max(self.now, when)
            fn()
        self.now = until

    @property
    def pending(self) -> int:
        return len(self._queue)


class Line:
    """The serial line of one sans-IO simulated modem: what the test types and reads."""

    def __init__(self, modem: SimulatedModem, clock: FakeClock) -> None:
        self.modem = modem
        self.clock = clock
        self._out = bytearray()
        modem.attach(self._out.extend)

    def send(self, data: str | bytes) -> bytes:
        """Feed bytes and return what the modem wrote meanwhile (and anything unread)."""
        self.modem.feed(data.encode("latin-1") if isinstance(data, str) else data)
        return self.read()

    def at(self, command: str) -> bytes:
        """Type one command line (CR added); return the answer."""
        return self.send(command + "\r")

    def read(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def advance(self, seconds: float = 0.0) -> bytes:
        self.clock.advance(seconds)
        return self.read()


def wait_for(predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.01) -> None:
    """Poll until `predicate()` is true, for tests that watch a real simulator thread."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def read_until(port: object, terminator: bytes, timeout: float = 5.0) -> bytes:
    """Read from a pyserial port until `terminator` shows up (or fail after `timeout`)."""
    deadline = time.monotonic() + timeout
    got = bytearray()
    while terminator not in got:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {terminator!r} within {timeout} s; got {bytes(got)!r}")
        got += port.read(max(1, port.in_waiting))  # type: ignore[attr-defined]
    return bytes(got)
