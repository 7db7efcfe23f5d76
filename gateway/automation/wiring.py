"""The gateway's extensions with automation: marketing's, plus keywords, surveys,
sequences and auto-replies.

`automation(settings)` is what the composition root hands the gateway: the claim policy
and recipient time zones of marketing (`gateway.campaigns.wiring`), the inbound hook of
`gateway.automation.inbound` (which answers STOP/START/HELP first, as marketing's did),
and a periodic step that runs due campaigns, then enrolls list joins and queues the
sequence steps that are due.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import partial

from sqlalchemy.engine import Engine

from gateway.automation import inbound, sequences
from gateway.campaigns import wiring
from gateway.core.db import session
from gateway.core.runtime import Extensions
from gateway.core.settings import Settings

__all__ = ["automation", "run_due"]


def automation(settings: Settings) -> Extensions:
    """Everything marketing and automation add to a gateway run with `settings`."""
    return replace(
        wiring.marketing(settings),
        on_inbound=partial(inbound.handle, settings),
        run_due=partial(run_due, settings),
    )


def run_due(settings: Settings, engine: Engine, now: datetime) -> int:
    """Due campaigns, then sequences: list joins enrolled and due steps queued; how many messages."""
    queued = wiring.run_campaigns(settings, engine, now)
    with session(engine, write=True) as s:
        sequences.enroll_list_joins(s, now=now)
        s.commit()
    return queued + sequences.run_due(engine, now=now, public_url=settings.public_url)
