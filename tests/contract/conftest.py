"""The contract tests' app: the real API with its gateway and two simulated modems on SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.api import Api, running_api, settings_for


@pytest.fixture(scope="module")
def contract_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    path = tmp_path_factory.mktemp("contract") / "modemgate.db"
    with running_api(settings_for(f"sqlite:///{path}")) as running:
        yield running
