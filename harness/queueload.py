"""Load for the queue-order and inbound-burst runs (tests/integration and bench/replies.py).

`queue_marketing` puts a campaign's worth of marketing messages in the outbox the way a
campaign's expansion does (`outbox.insert_many`), to numbers that gave consent, before
`modemgate serve` starts; `OPEN_WINDOW` is the settings that let that marketing go at any
hour. `first_entry` finds in the simulator's journal where a message reached the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from gateway.core import outbox
from gateway.core.db import create_engine_for, migrate
from gateway.core.models import ConsentRecord, utcnow

__all__ = ["OPEN_WINDOW", "marketing_numbers", "queue_marketing", "first_entry", "percentile"]

# Marketing through the API (not a campaign) keeps the [campaigns] send window and cap:
# open them, so the runs do not depend on the hour they run at.
OPEN_WINDOW = '\n[campaigns]\nwindow_start = "00:00"\nwindow_end = "24:00"\nfrequency_cap = 0\n'

_BATCH = 2_000


def marketing_numbers(n: int, *, base: int = 0) -> list[str]:
    return [f"+3167{base + i:07d}" for i in range(n)]


def queue_marketing(database_url: str, n: int, *, base: int = 0) -> list[tuple[str, str]]:
    """Queue `n` single-part marketing messages, each to its own number with consent;
    returns their (recipient, text). Creates the schema if needed."""
    engine = create_engine_for(database_url)
    try:
        migrate(engine)
        now = utcnow()
        messages = [
            (number, f"Offer {base + i}: 20% off this week") for i, number in enumerate(marketing_numbers(n, base=base))
        ]
        for start in range(0, n, _BATCH):
            batch = messages[start : start + _BATCH]
            with engine.begin() as conn:
                conn.execute(
                    sa.insert(ConsentRecord),
                    [{"number": to, "kind": "opt_in", "source": "import", "recorded_at": now} for to, _ in batch],
                )
                drafts = [outbox.Draft(to, text, "campaign", category="marketing") for to, text in batch]
                outbox.insert_many(conn, drafts, now=now)
        return messages
    finally:
        engine.dispose()


def first_entry(journal: Sequence[dict[str, Any]], recipient: str, start: int = 0) -> int | None:
    """Index of the first journal entry to `recipient` from `start` on, or None."""
    return next((i for i in range(start, len(journal)) if journal[i]["recipient"] == recipient), None)


def percentile(values: Sequence[float], p: float) -> float:
    """The `p`-th percentile (0–100) by nearest rank."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
