"""Two-way fixtures: the real gateway with its in-process simulated modems behind the API,
its wall clock moved by the tests (SkewClock), marketing allowed round the clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.core.settings import CampaignSettings
from tests.support.api import Api, running_api, settings_for


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    # The send window is another test's subject: here steps leave whenever they are due.
    campaigns = CampaignSettings(window_start="00:00", window_end="24:00", frequency_cap=0)
    with running_api(settings_for(f"sqlite:///{tmp_path / 'modemgate.db'}", campaigns=campaigns)) as running:
        yield running
