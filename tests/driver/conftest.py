"""Fixtures for driver tests: a fresh simulator per test, exposed on a pty and on TCP, and
our `Modem` opened on one of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from drivers.at.modem import Modem, ModemConfig, open_modem
from drivers.simulator.modem import ModemProfile
from drivers.simulator.server import SimulatorThread
from tests.support.driver import FAST, TransportKind, url_of


@pytest.fixture
def make_sim() -> Iterator[Callable[..., SimulatorThread]]:
    """Start a simulator: `make_sim(modems=1, profiles=[...])`; stopped after the test."""
    started: list[SimulatorThread] = []

    def make(modems: int = 1, profiles: list[ModemProfile] | None = None) -> SimulatorThread:
        sim = SimulatorThread(modems, pty=True, tcp=("127.0.0.1", 0), profiles=profiles).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., SimulatorThread]) -> SimulatorThread:
    return make_sim()


@pytest.fixture
def transport(request: pytest.FixtureRequest) -> TransportKind:
    """The pty unless a test asks for both with `@both_transports`."""
    return getattr(request, "param", "pty")  # type: ignore[no-any-return]


@pytest.fixture
def url(sim: SimulatorThread, transport: TransportKind) -> str:
    return url_of(sim, transport)


@pytest.fixture
async def make_modem(make_sim: Callable[..., SimulatorThread]) -> AsyncIterator[Callable[..., object]]:
    """Open (not initialise) our Modem on a port: `await make_modem(url, config)`;
    closed after the test, before the simulator stops."""
    opened: list[Modem] = []

    async def make(url: str, config: ModemConfig = FAST) -> Modem:
        modem = await open_modem(url, config)
        opened.append(modem)
        return modem

    yield make
    for modem in opened:
        await modem.close()


@pytest.fixture
async def modem(make_modem: Callable[..., object], url: str) -> Modem:
    """Our Modem on sim1, initialised."""
    m: Modem = await make_modem(url)  # type: ignore[misc]
    await m.initialize()
    return m
