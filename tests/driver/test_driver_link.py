"""`ModemLink` keeps a modem usable across drop-outs: it reopens the same port name (the
pty's stable link survives while the /dev/pts device behind it changes) with exponential
backoff, observed through an injected sleep."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Awaitable, Callable

import pytest

from drivers import CmsError, ModemGone
from drivers.at import Action, classify
from drivers.at.link import ModemLink
from drivers.simulator.server import SimulatorThread
from drivers.sms import encode_submit
from tests.support.driver import FAST, RECIPIENT, both_transports, url_of

pytestmark = pytest.mark.timeout(30)

QUICK = dataclasses.replace(FAST, command_timeout=0.3, send_timeout=0.5, hang_after=2)


class Sleeps:
    """An injected sleep that records the delays asked for and runs `then` after the n-th."""

    def __init__(self, after: int | None = None, then: Callable[[], None] | None = None) -> None:
        self.delays: list[float] = []
        self._after = after
        self._then = then

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self._then is not None and len(self.delays) == self._after:
            self._then()
        await asyncio.sleep(0)


@pytest.fixture
async def links() -> Callable[..., Awaitable[ModemLink]]:
    made: list[ModemLink] = []

    async def make(url: str, **kwargs: object) -> ModemLink:
        link = ModemLink(url, **kwargs)  # type: ignore[arg-type]
        made.append(link)
        return link

    yield make  # type: ignore[misc]
    for link in made:
        await link.close()


def occupy(device: str, tries: int = 64, rounds: int = 100) -> list[int]:
    """Open ptys until one of them is `device` (free again after a drop-out); keep them.

    Other processes open ptys too (tests run in parallel): when one holds `device` for a
    moment, give back what was opened and try again a little later."""
    for _ in range(rounds):
        fds: list[int] = []
        for _ in range(tries):
            master, slave = os.openpty()
            fds += [master, slave]
            if os.ttyname(slave) == device:
                return fds
        for fd in fds:
            os.close(fd)
        time.sleep(0.05)
    raise AssertionError(f"{device} did not come free")


async def sends(link: ModemLink, text: str) -> int:
    assert link.modem is not None
    return await link.modem.send(encode_submit(RECIPIENT, text)[0])


@both_transports
async def test_link_reopens_the_same_port_name_after_a_drop_out_with_backoff(
    links: Callable, sim: SimulatorThread, transport: str
) -> None:
    url = url_of(sim, transport)
    sleeps = Sleeps(after=6, then=lambda: sim.clear_faults("sim1"))
    link = await links(url, config=QUICK, sleep=sleeps, initial_backoff=1.0, max_backoff=8.0)
    first = await link.connect()
    assert link.state == "ready" and sleeps.delays == []
    device = sim.call(sim.sim.pty_device, "sim1")  # type: ignore[union-attr]
    assert os.path.realpath(url_of(sim, "pty")) == device

    sim.set_faults("sim1", disconnect=True)
    with pytest.raises(ModemGone):
        await link.check()
    assert link.state == "down" and first.gone

    # The kernel hands out the lowest free pts number; take the old one, as another
    # device would take a vanished modem's ttyUSB number, so the modem comes back elsewhere.
    squatters = occupy(device)
    try:
        second = await link.reconnect()
    finally:
        for fd in squatters:
            os.close(fd)
    assert sleeps.delays == [1, 2, 4, 8, 8, 8]  # doubling, capped
    assert second is not first and link.modem is second
    assert (link.state, link.failures, link.last_error, link.reconnects) == ("ready", 0, None, 1)
    new_device = sim.call(sim.sim.pty_device, "sim1")  # type: ignore[union-attr]
    assert new_device != device  # a new /dev/pts behind the same link
    assert os.path.realpath(url_of(sim, "pty")) == new_device
    assert (await link.check()).registered
    assert await sends(link, "after the drop-out") >= 0
    assert sim.messages()[-1]["text"] == "after the drop-out"


@both_transports
async def test_link_declares_a_hung_modem_down_and_reopens_it(
    links: Callable, sim: SimulatorThread, transport: str
) -> None:
    sleeps = Sleeps()
    link = await links(url_of(sim, transport), config=QUICK, sleep=sleeps)
    await link.connect()
    sim.set_faults("sim1", hang=True)
    errors = []
    for _ in range(QUICK.hang_after):
        with pytest.raises(Exception) as caught:
            await link.check()
        errors.append(type(caught.value).__name__)
    assert errors == ["ModemTimeout", "ModemGone"]
    assert link.state == "down"
    sim.clear_faults("sim1")
    await link.reconnect()
    assert sleeps.delays == []  # it answered at once: no waiting
    assert (await link.check()).registered


@both_transports
async def test_connect_with_limited_attempts_raises_the_last_error(
    links: Callable, sim: SimulatorThread, transport: str
) -> None:
    sim.set_faults("sim1", disconnect=True)
    sleeps = Sleeps()
    link = await links(url_of(sim, transport), config=QUICK, sleep=sleeps, initial_backoff=0.5, max_backoff=60)
    with pytest.raises(ModemGone, match="cannot open"):
        await link.connect(attempts=3)
    assert sleeps.delays == [0.5, 1.0]  # between attempts, not after the last
    assert (link.state, link.failures) == ("down", 3)
    assert link.modem is None


async def test_sim_asking_for_its_pin_mid_run_fails_sends_until_reconnected_with_the_pin(
    links: Callable, sim: SimulatorThread
) -> None:
    link = await links(url_of(sim, "tcp"), config=dataclasses.replace(QUICK, pin="1234"), sleep=Sleeps())
    await link.connect()
    assert await sends(link, "before") == 0
    sim.set_faults("sim1", pin_required=True)  # as after a power cycle of the SIM
    for _ in range(2):
        with pytest.raises(CmsError) as caught:
            await sends(link, "locked")
        assert caught.value.code == 311  # (U)SIM PIN required
        assert classify(caught.value) is Action.MODEM_FAULT
    await link.reconnect()  # initialisation enters the configured PIN
    assert await sends(link, "after") == 1
    assert [m["text"] for m in sim.messages()] == ["before", "after"]
