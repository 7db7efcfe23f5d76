"""An API event starts reminders that a purchase ends; the cart link is tracked."""

from __future__ import annotations

import re
import time

from tests.support.api import Api, wait_for
from tests.support.twoway import body, sent_to, step_due, wait_sent

BUYER = "+31612000002"
CART = "https://shop.example/cart/8812"


def test_cart_reminders_at_one_hour_and_a_day_stop_at_the_purchase(api: Api) -> None:
    contact = body(api, "post", "/v1/contacts", 201, json={"number": BUYER, "first_name": "Ida"})
    consent = {"kind": "opt_in", "source": "web_form", "proof": "Text me about my orders"}
    body(api, "post", f"/v1/contacts/{contact['id']}/consent", 201, json=consent)
    sequence = body(
        api, "post", "/v1/sequences", 201,
        json={"name": "cart", "trigger_event": "cart_abandoned", "exit_events": ["purchase"], "steps": [
            {"delay_seconds": 3600, "template": "{{first_name}}, your cart is waiting: {{cart_url}}"},
            {"delay_seconds": 86_400, "template": "Still thinking? {{cart_url}}"},
            {"delay_seconds": 3 * 86_400, "template": "Last call: {{cart_url}}"},
        ]},
    )  # fmt: skip
    started = body(
        api,
        "post",
        "/v1/events",
        201,
        json={"number": BUYER, "name": "cart_abandoned", "properties": {"cart_url": CART}},
    )
    assert started["contact_id"] == contact["id"] and len(started["enrolled"]) == 1

    step_due(api, minutes=59)
    time.sleep(0.3)
    assert sent_to(api, BUYER) == []
    step_due(api, minutes=1, seconds=1)
    (first,) = wait_sent(api, BUYER, 1)
    step_due(api, hours=23)
    second = wait_sent(api, BUYER, 2)[1]
    assert first.startswith("Ida, your cart is waiting: https://sms.example.com/r/")
    assert second.startswith("Still thinking? https://sms.example.com/r/")

    # Each text's link is the contact's own and leads to the cart (with UTM tags).
    codes = [re.search(r"/r/(\w+)", t)[1] for t in (first, second)]  # type: ignore[index]
    assert codes[0] != codes[1]
    followed = api.client.get(f"/r/{codes[1]}", follow_redirects=False)
    assert followed.status_code == 302 and followed.headers["location"].startswith(CART + "?utm_source=sms")

    body(
        api,
        "post",
        "/v1/events",
        201,
        json={"contact": contact["id"], "name": "purchase", "properties": {"order": "A1"}},
    )
    step_due(api, days=3)
    time.sleep(0.5)
    assert len(sent_to(api, BUYER)) == 2

    def analytics() -> list[tuple[int, ...]]:
        steps = body(api, "get", f"/v1/sequences/{sequence['id']}", 200)["analytics"]
        return [(a["queued"], a["sent"], a["delivered"], a["clicked"], a["converted"]) for a in steps]

    # The simulated network reports delivery shortly after each send, stamped with its own
    # clock, which this test does not move: the gateway matches the report of the first
    # step (an hour on, inside the 6 h matching window) but not that of the second, a day ahead.
    want = [(1, 1, 1, 0, 0), (1, 1, 0, 1, 1), (0, 0, 0, 0, 0)]
    wait_for(lambda: analytics() == want, 10, "per-step analytics", last=analytics)
