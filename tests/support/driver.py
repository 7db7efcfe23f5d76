"""Helpers for the driver tests: our `Modem` against the simulator over a real pty or a
real TCP socket, opened with pyserial like a USB modem's tty or a serial-over-IP server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import pytest

from drivers.at.modem import Incoming, Modem, ModemConfig
from drivers.simulator.modem import SimulatedModem
from drivers.simulator.server import SimulatorThread

T = TypeVar("T")

TransportKind = Literal["pty", "tcp"]
TRANSPORTS: tuple[TransportKind, ...] = ("pty", "tcp")

# Run a test over both transports (the `transport` fixture is the pty otherwise). Tests
# whose subject is the line itself use it; the others run on the pty, which opens and
# closes in no time where pyserial's socket close waits 0.3 s.
both_transports = pytest.mark.parametrize("transport", TRANSPORTS, indirect=True)

# Short limits so a fault costs a fraction of a second; the simulator answers in
# milliseconds, so every answer that should arrive still has room to spare.
FAST = ModemConfig(command_timeout=1.0, send_timeout=2.0, sim_ready_wait=2.0)

RECIPIENT = "+31611111111"
SENDER = "+31622222222"


def url_of(sim: SimulatorThread, kind: TransportKind, modem_id: str = "sim1") -> str:
    """The port of a simulated modem: its stable pty link, or `socket://host:port`."""
    ep = sim.endpoints[modem_id]
    url = ep.pty if kind == "pty" else ep.tcp_url
    assert url is not None, f"{modem_id} is not exposed on {kind}"
    return url


def on_sim(sim: SimulatorThread, modem_id: str, read: Callable[[SimulatedModem], T]) -> T:
    """Read the state of a simulated modem in the simulator's own thread."""
    assert sim.sim is not None
    modem = sim.sim.modems[modem_id]
    return sim.call(lambda: read(modem))


def commands_seen(sim: SimulatorThread, modem_id: str = "sim1") -> list[str]:
    return on_sim(sim, modem_id, lambda m: list(m.commands_seen))


def stored(sim: SimulatorThread, modem_id: str = "sim1", memory: str = "SM") -> list[int]:
    """Indices in use in a simulated modem's message memory."""
    return on_sim(sim, modem_id, lambda m: [s.index for s in m.stores[memory].list(4)])


def inbound_pdu(sim: SimulatorThread, modem_id: str, pdu: str) -> None:
    assert sim.sim is not None
    network = sim.sim.network
    sim.call(network.inbound_pdu, modem_id, pdu)


async def next_incoming(modem: Modem, timeout: float = 2.0) -> Incoming:
    return await asyncio.wait_for(modem.next_incoming(), timeout)


async def incoming(modem: Modem, n: int, timeout: float = 2.0) -> list[Incoming]:
    """The next `n` items the modem hands over."""
    return [await next_incoming(modem, timeout) for _ in range(n)]


async def nothing_more(modem: Modem, wait: float = 0.2) -> list[Incoming]:
    """What else arrives within `wait` seconds (the caller expects nothing)."""
    await asyncio.sleep(wait)
    return modem.incoming_nowait()


async def eventually(check: Callable[[], Any], timeout: float = 2.0) -> Any:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        await asyncio.sleep(0.02)
