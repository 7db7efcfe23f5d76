"""The database's disk fills up under a running `modemgate serve` while parts are on their way.

While it is full: new work is refused with 503 and Retry-After, /readyz says not ready, and
the send results that could not be written are kept, not sent again. Once there is space,
everything completes and the simulated network holds every part exactly once.
"""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

from harness.livegateway import ModemSpec, part_key
from harness.smalldisk import SmallDisk
from harness.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SUBMIT_DELAY = 1.5  # seconds the simulated network takes to answer each AT+CMGS
TEXTS = [
    ("+31650000001", "first: " + " ".join(f"word{j}" for j in range(40))),  # 2 parts
    ("+31650000002", "second: " + " ".join(f"word{j}" for j in range(60))),  # 3 parts
]


def test_a_full_disk_refuses_new_work_and_sends_nothing_twice(simulator, gateway, tmp_path):
    sim = simulator(2)
    for modem in sim.urls:
        sim.set_faults(modem, submit_delay=SUBMIT_DELAY)
    with SmallDisk(tmp_path / "disk") as disk:
        gw = gateway(
            f"sqlite:///{disk.path / 'modemgate.db'}",
            [ModemSpec(id, url, sends_per_minute=600, burst=5) for id, url in sim.urls.items()],
        ).start()
        assert gw.proc is not None
        gw.wait_ready(sim.urls)
        ids = gw.submit_all(TEXTS)
        # Both messages claimed (committed) and their first parts on the way to the network ...
        wait_until(
            lambda: all(gw.message(i)["status"] == "sending" for i in ids), timeout=20, what="both messages sending"
        )
        disk.fill(gw.proc.pid)  # ... when the disk fills up (a tmpfs, or a file-size limit).
        try:
            refused = gw.client.post("/v1/messages", json={"to": "+31650000003", "text": "new work"})
            assert refused.status_code == 503, f"{disk.how}: {refused.status_code} {refused.text}"
            assert refused.json()["error"]["code"] == "storage_unavailable"
            assert int(refused.headers["Retry-After"]) > 0
            not_ready = gw.client.get("/readyz")
            assert not_ready.status_code == 503, not_ready.text
            assert any(p.startswith("storage:") for p in not_ready.json()["error"]["problems"]), not_ready.text

            # The first part of each reached the network, and its +CMGS could not be written.
            wait_until(lambda: sim.journal_count() >= 2, timeout=20, what="the first parts at the network")
            time.sleep(3 * SUBMIT_DELAY)  # time enough for more parts, had any been sent
            assert sim.journal_count() == 2, sim.journal()
            for message_id in ids:
                message = gw.message(message_id)
                assert message["status"] == "sending", message
                assert all(p["message_reference"] is None for p in message["parts"]), message
            assert all(m["state"] == "ready" for m in gw.modems()), gw.modems()  # no modem blamed
        finally:
            disk.free(gw.proc.pid)

        wait_until(lambda: _status(gw.url) == 200, timeout=30, what="/readyz ready again")
        late = gw.client.post("/v1/messages", json={"to": "+31650000003", "text": "after the disk was emptied"})
        assert late.status_code == 202, late.text
        # Sent at once; "delivered" may wait for the modem storage poll: the reports that came
        # in while the disk was full were left in the modem to be read again.
        gw.wait_all(ids, ("sent", "delivered"), timeout=60)
        gw.wait_all([late.json()["id"]], "delivered", timeout=60)

    journal = sim.journal()
    copies = Counter(part_key(e) for e in journal)
    assert set(copies.values()) == {1}, [k for k, n in copies.items() if n > 1]
    assert len(journal) == 2 + 3 + 1  # every part of the three messages, once
    assert [e["modem"] for e in journal[:2]] != [journal[0]["modem"]] * 2  # one message per modem


def _status(url: str) -> int:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code
    except httpx.HTTPError:
        return 0
