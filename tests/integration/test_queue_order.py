"""The queue's order against real processes: a one-time code and a STOP confirmation leave
before the marketing already queued, while a 1,000-message campaign is being sent."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gateway.audience.consent import number_hash
from gateway.core.db import create_engine_for
from gateway.core.models import Suppression
from harness.livegateway import ModemSpec
from harness.queueload import OPEN_WINDOW, first_entry, marketing_numbers, queue_marketing
from harness.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CAMPAIGN = 1_000
RATE = 300  # parts per minute per modem: the campaign takes minutes, the test needs seconds of it
BURST = 2  # a modem claims at most what its pacing lets go at once: the message in hand and one more
CODE_TO = "+31611112222"


def test_a_code_and_a_stop_confirmation_leave_before_the_campaign_already_queued(simulator, gateway, sqlite_url):
    sim = simulator(2)
    for sim_id in sim.urls:
        sim.set_faults(sim_id, submit_delay=0.05)
    campaign = queue_marketing(sqlite_url, CAMPAIGN)
    marketing = {to for to, _ in campaign}
    stopper = marketing_numbers(CAMPAIGN)[-1]  # the last in the campaign's queue
    modems = [ModemSpec(f"modem-{i}", url, RATE, BURST) for i, url in enumerate(sim.urls.values(), 1)]
    gw = gateway(sqlite_url, modems, extra=OPEN_WINDOW).start()
    wait_until(lambda: sim.journal_count() >= 20, timeout=60, what="the campaign under way")

    before_code = sim.journal_count()
    r = gw.client.post("/v1/messages", json={"to": CODE_TO, "text": "Your code is 482913"})
    assert r.status_code == 202, r.text
    sim.inbound(next(iter(sim.urls)), stopper, "STOP")
    engine = create_engine_for(sqlite_url)
    try:

        def opted_out() -> bool:
            with engine.connect() as conn:
                found = conn.execute(sa.select(Suppression.id).where(Suppression.number_hash == number_hash(stopper)))
                return found.first() is not None

        wait_until(opted_out, timeout=60, what=f"{stopper} opted out")
    finally:
        engine.dispose()
    after_stop = sim.journal_count()
    wait_until(
        lambda: {CODE_TO, stopper} <= {e["recipient"] for e in sim.journal()},
        timeout=60,
        what="the code and the STOP confirmation sent",
    )

    journal = sim.journal()
    code_at = first_entry(journal, CODE_TO)
    reply_at = first_entry(journal, stopper)
    assert code_at is not None and reply_at is not None
    assert journal[reply_at]["text"].startswith("You are unsubscribed")
    # Next out: before them went only what each modem had claimed when they were queued
    # (the message in hand and those claimed with it, at most its burst), while most of
    # the campaign was still waiting.
    for name, start, at in (("code", before_code, code_at), ("STOP confirmation", after_stop, reply_at)):
        ahead = [e for e in journal[start:at] if e["recipient"] in marketing]
        assert len(ahead) <= len(modems) * BURST, f"{len(ahead)} marketing messages left before the {name}"
        sent_before = sum(1 for e in journal[:at] if e["recipient"] in marketing)
        assert sent_before < CAMPAIGN / 2, f"the {name} left after {sent_before} of {CAMPAIGN} marketing messages"
