"""Fixtures for simulator tests: sans-IO modems on a shared network and a fake clock."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from drivers.simulator.modem import ModemProfile, SimulatedModem
from drivers.simulator.network import Network
from tests.support.simulator import NOW, FakeClock, Line


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def network(clock: FakeClock) -> Network:
    return Network(clock.call_later, now=lambda: NOW)


@pytest.fixture
def make_line(network: Network, clock: FakeClock) -> Callable[..., Line]:
    """Build a modem on the shared network: `make_line(echo=False, **profile_fields)`."""
    counter = itertools.count(1)

    def make(*, echo: bool = False, **profile: object) -> Line:
        i = next(counter)
        fields = {"number": f"+3161200{i:04d}", "imei": f"35314204{i:06d}0"} | profile
        modem = SimulatedModem(
            f"sim{i}",
            network,
            profile=ModemProfile(**fields),
            call_later=clock.call_later,  # type: ignore[arg-type]
        )
        line = Line(modem, clock)
        if not echo:
            assert line.at("ATE0") == b"ATE0\r\r\nOK\r\n"
        return line

    return make


@pytest.fixture
def line(make_line: Callable[..., Line]) -> Line:
    """A fresh modem with echo off, as most tests want it."""
    return make_line()
