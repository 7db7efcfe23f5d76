"""Two-way fixtures: the real gateway with its in-process simulated modems behind the API,
its wall clock moved by the tests (SkewClock), marketing allowed round the clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.core.settings import CampaignSettings, ModemSettings
from tests.support.api import Api, running_api, settings_for

# The send window is another test's subject: here steps leave whenever they are due.
ROUND_THE_CLOCK = CampaignSettings(window_start="00:00", window_end="24:00", frequency_cap=0)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(settings_for(f"sqlite:///{tmp_path / 'modemgate.db'}", campaigns=ROUND_THE_CLOCK)) as running:
        yield running


@pytest.fixture
def busy_api(tmp_path: Path) -> Iterator[Api]:
    """`api` with four simulated modems: hundreds of texts leave in a few seconds."""
    settings = settings_for(f"sqlite:///{tmp_path / 'modemgate.db'}", campaigns=ROUND_THE_CLOCK)
    modems = [
        ModemSettings(id=f"sim{i}", port=f"sim://sim{i}", sends_per_minute=600, burst=20, daily_cap=0)
        for i in range(1, 5)
    ]
    with running_api(settings.model_copy(update={"modems": modems})) as running:
        yield running
