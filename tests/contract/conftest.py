"""The contract tests' app: the real API with its gateway and two simulated modems on SQLite."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from apitools import Api, running_api, settings_for  # noqa: E402


@pytest.fixture(scope="module")
def contract_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    path = tmp_path_factory.mktemp("contract") / "modemgate.db"
    with running_api(settings_for(f"sqlite:///{path}")) as running:
        yield running
