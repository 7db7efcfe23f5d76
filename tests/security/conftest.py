"""The security checks' gateways: the real app with two simulated modems, on SQLite and on a
throw-away PostgreSQL schema, one of each per module (requests refused leave nothing behind)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.pgschema import throwaway_schema
from tests.support.api import Api, running_api, settings_for


@pytest.fixture(scope="module")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    path = tmp_path_factory.mktemp("security") / "modemgate.db"
    with running_api(settings_for(f"sqlite:///{path}")) as running:
        yield running


@pytest.fixture(scope="module")
def postgres_api() -> Iterator[Api]:
    with throwaway_schema("mg_sec") as url, running_api(settings_for(url)) as running:
        yield running


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def each_db_api(request: pytest.FixtureRequest) -> Api:
    return request.getfixturevalue("sqlite_api" if request.param == "sqlite" else "postgres_api")


@pytest.fixture
def fresh_api(tmp_path: Path) -> Iterator[Api]:
    """A gateway of its own, for a test that sends messages (their reports arrive later)."""
    with running_api(settings_for(f"sqlite:///{tmp_path / 'modemgate.db'}")) as running:
        yield running
