"""API fixtures: the real app with its gateway running two simulated modems (fast timing,
high rates) on a fresh SQLite file, or on a throw-away PostgreSQL schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.pgschema import throwaway_schema
from tests.support.api import Api, running_api, settings_for


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(settings_for(f"sqlite:///{tmp_path / 'modemgate.db'}")) as running:
        yield running


@pytest.fixture
def pg_api() -> Iterator[Api]:
    with throwaway_schema("mg_api") as url, running_api(settings_for(url)) as running:
        yield running


@pytest.fixture(params=["sqlite", "postgresql"])
def any_api(request: pytest.FixtureRequest) -> Api:
    """Both databases, for the tests that must hold on each."""
    return request.getfixturevalue("api" if request.param == "sqlite" else "pg_api")


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One gateway for a module of tests that only read or add their own rows."""
    path = tmp_path_factory.mktemp("shared") / "modemgate.db"
    with running_api(settings_for(f"sqlite:///{path}")) as running:
        yield running


@pytest.fixture(scope="module")
def shared_pg_api() -> Iterator[Api]:
    """`shared_api` on PostgreSQL."""
    with throwaway_schema("mg_api") as url, running_api(settings_for(url)) as running:
        yield running


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_any_api(request: pytest.FixtureRequest) -> Api:
    return request.getfixturevalue("shared_api" if request.param == "sqlite" else "shared_pg_api")
