"""Fixtures for the integration tests: simulator and gateway processes, a PostgreSQL schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from livegateway import GatewayProcess, ModemSpec, SimulatorProcess

PG_URL = os.environ.get("MODEMGATE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: runs real processes for several seconds (not skipped anywhere)")


@pytest.fixture
def simulator(tmp_path) -> Iterator[Callable[..., SimulatorProcess]]:
    """Start `modemgate simulate` processes; all are stopped after the test."""
    started: list[SimulatorProcess] = []

    def start(modems: int, *, name: str = "sim") -> SimulatorProcess:
        sim = SimulatorProcess(modems, tmp_path, name=name)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def gateway(tmp_path) -> Iterator[Callable[..., GatewayProcess]]:
    """Configure `modemgate serve` processes (call `.start()`); all are stopped after the test."""
    made: list[GatewayProcess] = []

    def make(database_url: str, modems: list[ModemSpec], *, name: str = "gw", key: str | None = None) -> GatewayProcess:
        gw = GatewayProcess(tmp_path, database_url, modems, name=name, key=key)
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
    schema = f"mg_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable ({exc.orig}); .ci/run starts it")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
