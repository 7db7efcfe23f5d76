"""A burst of 500 received messages through `modemgate simulate` and `modemgate serve`: each
is read on its +CMTI, none waits for the storage poll, every STOP is an opt-out."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gateway.audience.consent import number_hash
from gateway.core.db import create_engine_for
from gateway.core.models import InboundMessage, Suppression
from harness.livegateway import ModemSpec
from harness.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

BURST = 500
STOP_EVERY = 5  # every fifth message is a STOP: 100 of them
# The storage poll (AT+CMGL) would hand over what a lost +CMTI did not announce; a day
# apart, it never runs during the test after the first one at start.
NO_POLL = 86_400


def test_a_burst_of_500_received_messages_is_stored_from_their_cmti_and_every_stop_opts_out(
    simulator, gateway, sqlite_url
):
    sim = simulator(1)
    sim_id, url = next(iter(sim.urls.items()))
    gw = gateway(sqlite_url, [ModemSpec("modem-1", url, 600, 5, storage_poll=NO_POLL)]).start()
    gw.wait_ready(["modem-1"])

    sent = {}
    for i in range(BURST):
        sender = f"+3168{i:07d}"
        sent[sender] = "STOP" if i % STOP_EVERY == 0 else f"Hello {i}, is the shop open on Sunday?"
        sim.inbound(sim_id, sender, sent[sender])
    stops = {sender for sender, text in sent.items() if text == "STOP"}

    engine = create_engine_for(sqlite_url)
    try:

        def stored() -> dict[str, str]:
            with engine.connect() as conn:
                rows = conn.execute(sa.select(InboundMessage.sender, InboundMessage.text)).all()
            return {row.sender: row.text for row in rows}

        # The SIM holds 30 messages: the network keeps the rest until the gateway frees
        # slots, and each freed slot is refilled (and indicated) at once.
        wait_until(
            lambda: len(stored()) >= BURST, timeout=180, what=f"{BURST} messages stored", last=lambda: len(stored())
        )
        with engine.connect() as conn:
            opted_out = set(conn.execute(sa.select(Suppression.number_hash)).scalars())
            inbound = conn.execute(sa.select(sa.func.count()).select_from(InboundMessage)).scalar_one()
        assert stored() == sent
    finally:
        engine.dispose()
    assert inbound == BURST  # each once
    assert {number_hash(sender) for sender in stops} <= opted_out
