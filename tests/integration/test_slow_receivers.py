"""One slow webhook receiver delays no one else, against a real `modemgate serve`.

Three keys, three receivers on 127.0.0.1 (allowed by `[webhooks] allow_networks`): one
accepts connections and never answers, one answers a byte every 5 seconds, one answers at
once. The fast one gets every event of its key, and every inbound message, within a few
seconds of the event, signed at the time it was posted; the others' attempts are cut at
the configured time limit, and no more than `per_endpoint` of them are open at once.
"""

from __future__ import annotations

import time

import pytest

from gateway.core.signing import SIGNATURE_HEADER, verify
from harness.livegateway import ModemSpec
from harness.receivers import create_key, fast_receiver, raw_receiver
from harness.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

LIMIT = 3.0  # [webhooks] timeout: seconds per attempt, all included
PER_ENDPOINT = 2
FAST_ENOUGH = 5.0  # seconds from an event to the fast receiver
MESSAGES = 8  # per key
INBOUND = 4


def test_a_fast_receiver_gets_its_events_within_seconds_while_others_hang_and_trickle(simulator, gateway, sqlite_url):
    sim = simulator(2)
    gw = gateway(sqlite_url, [ModemSpec(f"m{i}", url) for i, url in enumerate(sim.urls.values(), 1)])
    gw.config.write_text(
        gw.config.read_text()
        + f'\n[webhooks]\nallow_networks = ["127.0.0.1/32"]\ntimeout = {LIMIT}\nper_endpoint = {PER_ENDPOINT}\n'
    )
    slow_key, trickle_key = create_key(gw, "hangs"), create_key(gw, "trickles")
    gw.start().wait_ready(["m1", "m2"])
    events = ["message.status", "delivery_report", "message.inbound"]
    with raw_receiver(None) as hanging, raw_receiver(5.0) as trickling, fast_receiver() as (fast_url, got):
        hooks = {}
        for name, headers, url in (("hangs", slow_key, hanging.url), ("trickles", trickle_key, trickling.url),
                                   ("fast", gw.headers, fast_url)):  # fmt: skip
            r = gw.client.post("/v1/webhooks", headers=headers, json={"url": url, "events": events})
            assert r.status_code == 201, r.text
            hooks[name] = r.json()

        # The slow receivers' keys send first, so their events are queued ahead of the fast one's.
        for i, headers in enumerate((slow_key, trickle_key)):
            for n in range(MESSAGES):
                r = gw.client.post(
                    "/v1/messages", headers=headers, json={"to": f"+3165{i}00000{n}", "text": f"slow {n}"}
                )
                assert r.status_code == 202, r.text
        time.sleep(1.0)
        ours = []
        for n in range(MESSAGES):
            r = gw.client.post("/v1/messages", json={"to": f"+316599000{n:02d}", "text": f"fast {n}"})
            assert r.status_code == 202, r.text
            ours.append(r.json()["id"])
        number = next(iter(sim.numbers.values()))
        for n in range(INBOUND):
            sim.inbound(next(iter(sim.numbers)), "+31611122233", f"inbound {n} to {number}")

        def complete() -> bool:
            delivered = {g.event["data"]["id"] for g in got
                         if g.headers["Modemgate-Event"] == "message.status" and g.event["data"]["status"] == "delivered"}  # fmt: skip
            inbound = [g for g in got if g.headers["Modemgate-Event"] == "message.inbound"]
            return set(ours) <= delivered and len(inbound) >= INBOUND

        wait_until(complete, timeout=90, interval=0.2, what="every event of the fast key and every inbound message")
        gw.wait_all(ours, timeout=10)

        late, delays = [], []
        for g in got:
            created = time.mktime(time.strptime(g.event["created_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
            delays.append(g.at - created)
            if g.at - created > FAST_ENOUGH:
                late.append((g.headers["Modemgate-Event"], round(g.at - created, 1)))
            # Signed at the time of posting: the documented 5-minute check holds, and t is now.
            stamp = int(g.headers[SIGNATURE_HEADER].split(",")[0].split("=")[1])
            assert abs(g.at - stamp) < 2 and verify(
                hooks["fast"]["secret"], g.body, g.headers[SIGNATURE_HEADER], now=int(g.at)
            )
        assert late == [], f"events that reached the fast receiver late: {late}"
        print(f"fast receiver: {len(got)} events, delay max {max(delays):.2f} s")
        assert len({g.headers["Modemgate-Delivery"] for g in got}) == len(got)  # each once

        # The others were tried, cut at the limit, a bounded number at once.
        wait_until(lambda: hanging.spans and trickling.spans, timeout=LIMIT * 4, what="attempts to the slow receivers")
        for name, seen in (("hangs", hanging), ("trickles", trickling)):
            longest = max(end - start for start, end in seen.spans)
            assert longest < LIMIT + 1.5, (name, longest)
            assert seen.most_open <= PER_ENDPOINT, (name, seen.most_open)
            rows = gw.client.get(f"/v1/webhooks/{hooks[name]['id']}/deliveries",
                                 headers=slow_key if name == "hangs" else trickle_key).json()  # fmt: skip
            assert {r["last_error"] for r in rows if r["attempts"]} == {"timeout"}, rows
            assert all(r["delivered_at"] is None for r in rows)
