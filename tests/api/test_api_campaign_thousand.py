"""A 1,000-contact campaign through the running gateway and its simulated modems: exactly the
right messages reach the network, personalised, with footer and short link; nothing reaches
it for an opted-out, unconsented or invalid number, and what is outside the send window waits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.core.models import Link, Message
from gateway.core.settings import ModemSettings, Settings
from tests.support.api import PUBLIC_URL, Api, running_api, wait_for
from tests.support.campaigns import Person, audience

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def zone_at(local_hour: int, now: datetime) -> str:
    """A fixed-offset zone whose local hour is `local_hour` at `now` (UTC), so the test does
    not depend on when it runs: 14:00 is hours inside the default 10:00-20:00 window, 03:00
    hours outside it."""
    offset = (local_hour - now.hour + 12) % 24 - 12  # -12 .. +11 hours from UTC
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX sign: Etc/GMT-5 is UTC+5


def people(now: datetime) -> list[Person]:
    """20 invalid numbers, 50 opted out, 30 without consent, 100 at 03:00 local, 800 to send."""
    day, night = zone_at(14, now), zone_at(3, now)
    out = []
    for i in range(1000):
        number = f"+3164{i:07d}"
        if i < 20:
            out.append(Person(f"06-{i:04d}"))  # written around the API: not a number
        elif i < 70:
            out.append(Person(number, opted_out=True, zone=day))
        elif i < 100:
            out.append(Person(number, consent=False, zone=day))
        elif i < 200:
            out.append(Person(number, first_name=f"Ken{i}", zone=night))
        else:
            out.append(Person(number, first_name=None if i % 2 else f"Eva{i}", zone=day))
    return out


@pytest.fixture
def fast_api(tmp_path: Path) -> Iterator[Api]:
    """Six simulated modems without pacing (simulated: no SIM to protect), so 800 messages take seconds."""
    modems = [ModemSettings(id=f"sim{i}", port=f"sim://sim{i}", sends_per_minute="unlimited", daily_cap=0)
              for i in range(1, 7)]  # fmt: skip
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'modemgate.db'}", default_region="NL", modems=modems, public_url=PUBLIC_URL
    )
    with running_api(settings) as api:
        yield api


def test_thousand_contact_campaign_reaches_the_network_exactly(fast_api: Api) -> None:
    api = fast_api
    now = datetime.now(UTC)
    crowd = people(now)
    list_id = audience(api.gateway.engine, crowd)
    body = {"name": "Winter sale", "template": "Hi {{first_name|there}}, 20% off: https://shop.example/sale",
            "brand": "Acme", "lists": [list_id]}  # the default send window, 10:00-20:00 local  # fmt: skip
    campaign_id = api.post("/v1/campaigns", json=body).json()["id"]
    review = api.post(f"/v1/campaigns/{campaign_id}/review").json()
    assert review["errors"] == [], review
    assert (review["audience"], review["sendable"], review["invalid_numbers"], review["opted_out"],
            review["no_consent"], review["deferred"]) == (1000, 900, 20, 50, 30, 100)  # fmt: skip
    assert api.post(f"/v1/campaigns/{campaign_id}/schedule", json={"kind": "now"}).status_code == 200

    def network() -> list[dict]:
        return api.get("/v1/simulator/network").json()["messages"]

    def report() -> dict:
        return api.get(f"/v1/campaigns/{campaign_id}/analytics").json()

    wait_for(
        lambda: report()["sent"] == 800 and len(network()) >= 800,
        180,
        "800 campaign messages on the network",
        every=0.5,
        last=lambda: (len(network()), {k: v for k, v in report().items() if k not in ("series", "variants")}),
    )
    final = report()
    assert (final["audience"], final["sent"], final["deferred"]) == (1000, 800, 100)
    assert final["suppressed"] == {"opted_out": 50, "no_consent": 30, "invalid_number": 20}

    received = network()
    by_number = {m["recipient"]: m["text"] for m in received}
    assert len(received) == len(by_number) == 800  # one message each, none twice
    to_send = {p.number: p for p in crowd[200:]}
    assert set(by_number) == set(to_send)  # nothing for the suppressed or the deferred
    with api.gateway.engine.connect() as conn:
        codes = dict(conn.execute(
            sa.select(Message.recipient, Link.code).join(Link, Link.message_id == Message.id)
            .where(Message.campaign_id == campaign_id)
        ).all())  # fmt: skip
        waiting = conn.execute(
            sa.select(Message.recipient).where(Message.campaign_id == campaign_id, Message.status == "queued",
                                               Message.held_reason == "send_window")
        ).scalars().all()  # fmt: skip
    public = api.gateway.settings.public_url
    for number, text in by_number.items():
        name = to_send[number].first_name or "there"
        assert text == f"Acme: Hi {name}, 20% off: {public}/r/{codes[number]}\nReply STOP to opt out", text
    assert sorted(waiting) == sorted(p.number for p in crowd[100:200])  # they wait; nothing is dropped
    assert len(set(codes.values())) == len(codes)  # a short link per recipient
