"""Fixtures for the integration tests: simulator and gateway processes, a PostgreSQL schema."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from harness.livegateway import GatewayProcess, ModemSpec, SimulatorProcess
from harness.pgschema import throwaway_schema


@pytest.fixture
def simulator(tmp_path) -> Iterator[Callable[..., SimulatorProcess]]:
    """Start `modemgate simulate` processes; all are stopped after the test."""
    started: list[SimulatorProcess] = []

    def start(modems: int, *, name: str = "sim", options: tuple[str, ...] = ()) -> SimulatorProcess:
        sim = SimulatorProcess(modems, tmp_path, name=name, options=options)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def gateway(tmp_path) -> Iterator[Callable[..., GatewayProcess]]:
    """Configure `modemgate serve` processes (call `.start()`); all are stopped after the test."""
    made: list[GatewayProcess] = []

    def make(
        database_url: str,
        modems: list[ModemSpec],
        *,
        name: str = "gw",
        key: str | None = None,
        extra: str = "",
        **settings: object,
    ) -> GatewayProcess:
        gw = GatewayProcess(tmp_path, database_url, modems, name=name, key=key, extra=extra, settings=settings)
        made.append(gw)
        return gw

    yield make
    for gw in made:
        gw.stop()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'modemgate.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards."""
    with throwaway_schema("mg_int") as url:
        yield url
