"""Helpers for the campaign tests: an audience written in bulk, a fake modem that drains the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway import campaigns
from gateway.audience.consent import number_hash
from gateway.campaigns.compliance import CompliancePolicy
from gateway.core import outbox
from gateway.core.db import session
from gateway.core.models import ConsentRecord, Contact, ContactList, ListMembership, Message, Suppression
from tests.support.dns import resolve

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 13:00 in Amsterdam, 21:00 in Tokyo
PUBLIC_URL = "https://go.example"  # resolved by tests.support.dns.resolve


@dataclass(frozen=True)
class Person:
    number: str
    first_name: str | None = "Anna"
    zone: str = "Europe/Amsterdam"
    consent: bool = True
    opted_out: bool = False


def audience(engine: Engine, people: Sequence[Person], *, list_name: str = "customers") -> int:
    """Write contacts (numbers as given, even invalid ones), their consent and opt-outs, and
    one list holding them all; returns the list's id."""
    with engine.begin() as conn:
        list_id = conn.execute(
            sa.insert(ContactList).values(name=list_name, kind="list", created_at=T0).returning(ContactList.id)
        ).scalar_one()
        existing = dict(conn.execute(sa.select(Contact.number, Contact.id)).all())
        new = [p for p in people if p.number not in existing]
        if new:
            conn.execute(
                sa.insert(Contact),
                [
                    {"number": p.number, "first_name": p.first_name, "last_name": None, "custom_fields": {},
                     "time_zone": p.zone, "time_zone_source": "given", "created_at": T0, "updated_at": T0}
                    for p in new
                ],
            )  # fmt: skip
            ids = dict(conn.execute(sa.select(Contact.number, Contact.id)).all())
            consents = [p for p in new if p.consent]
            if consents:
                conn.execute(
                    sa.insert(ConsentRecord),
                    [
                        {
                            "number": p.number,
                            "contact_id": ids[p.number],
                            "kind": "opt_in",
                            "source": "test",
                            "recorded_at": T0,
                        }
                        for p in consents
                    ],
                )
            stopped = [p for p in new if p.opted_out]
            if stopped:
                conn.execute(
                    sa.insert(Suppression),
                    [
                        {"number": p.number, "number_hash": number_hash(p.number), "reason": "stop", "created_at": T0}
                        for p in stopped
                    ],
                )
        ids = dict(conn.execute(sa.select(Contact.number, Contact.id)).all())
        conn.execute(
            sa.insert(ListMembership),
            [{"list_id": list_id, "contact_id": ids[p.number], "added_at": T0} for p in people],
        )
    return list_id


def start(engine: Engine, *, list_id: int, now: datetime = T0, **fields: object) -> int:
    """Create, review and schedule a campaign (now), then expand it; returns its id."""
    data = {"name": "winter sale", "template": "Hi {{first_name|there}}, 20% off: https://shop.example/sale", **fields}
    data.setdefault("lists", [list_id])
    with session(engine, write=True) as s:
        row = campaigns.create(s, data, api_key_id=None, now=now)
        result = campaigns.review(s, row.id, public_url=PUBLIC_URL, now=now, resolver=resolve)
        assert not result.errors, result.errors
        campaigns.schedule(s, row.id, kind="now", now=now)
        s.commit()
        campaign_id = row.id
    campaigns.run_due(engine, now=now, settings=_Settings())
    return campaign_id


class _Settings:
    public_url = PUBLIC_URL


SETTINGS = _Settings()


def drain(engine: Engine, *, now: datetime, modem: str = "m1", finish: bool = True) -> list[str]:
    """Claim and 'send' every message the outbox hands out now; returns their ids in order.

    With `finish` False the messages are only claimed (left `sending`, in a modem's hands):
    the claim is where they are let through or held (by the gateway's marketing policy),
    and it is three times quicker."""
    sent = []
    mr = 0
    lease = outbox.DEFAULT_LEASE if finish else timedelta(days=2)  # claimed ones stay in hand
    policy = CompliancePolicy()
    while (
        claim := outbox.claim(engine, modem_id=modem, owner=modem, lease=lease, now=now, claim_policy=policy)
    ) is not None:
        if not finish:
            sent.append(claim.message_id)
            continue
        for part in claim.parts:
            mr = (mr + 1) % 256
            outbox.record_sent(engine, part.part_id, mr=mr, modem_id=modem, now=now)
        assert outbox.finish(engine, claim.message_id, now=now)
        sent.append(claim.message_id)
    return sent


def by_status(engine: Engine, campaign_id: int) -> dict[tuple[str, str | None], int]:
    """(status, held_reason) -> count of the campaign's messages."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Message.status, Message.held_reason, sa.func.count())
            .where(Message.campaign_id == campaign_id)
            .group_by(Message.status, Message.held_reason)
        ).all()
    return {(status, reason): n for status, reason, n in rows}
