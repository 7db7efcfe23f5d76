"""A campaign's report counted by the database agrees with the same definitions applied row by
row in Python, on a campaign seeded with every case the grouped queries must tell apart:
two variants, each status, held reasons, unsent messages, opt-outs before and after the send
(and twice), first and repeat clicks, test clicks and conversions, sends across hours."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from gateway import campaigns
from gateway.campaigns import analytics
from gateway.core.db import session
from gateway.core.models import CampaignVariant, Click, ConsentRecord, Conversion, Link, Message

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# (status, held_reason, sent): the cases the funnel tells apart
KINDS = [
    ("delivered", None, True), ("delivered", None, True), ("failed", None, True), ("sent", None, True),
    ("suppressed", "stop", False), ("suppressed", "no_consent", False), ("suppressed", None, False),
    ("queued", "send_window", False), ("queued", "paused", False), ("queued", None, False), ("sending", None, False),
]  # fmt: skip


def _seed(s: Any, cid: int, variants: list[int]) -> tuple[list[Message], list[Click], list[ConsentRecord]]:
    messages = []
    for i in range(66):
        status, reason, sent = KINDS[i % len(KINDS)]
        sent_at = T0 + timedelta(minutes=37 * i) if sent else None
        messages.append(Message(
            request_hash="x", recipient=f"+3161234{i:04d}", text="t", encoding="gsm7", parts_total=1,
            status=status, held_reason=reason, campaign_id=cid, variant_id=variants[i % 2], contact_id=i + 1,
            category="marketing", next_attempt_at=T0, valid_until=T0 + timedelta(days=2), created_at=T0,
            updated_at=T0, sent_at=sent_at,
        ))  # fmt: skip
    s.add_all(messages)
    link = Link(code="abc", target="https://shop.example", campaign_id=cid, contact_id=1, created_at=T0)
    s.add(link)
    s.flush()
    clicks = []
    delivered = [m for m in messages if m.status == "delivered"]
    for i, m in enumerate(delivered + delivered[::3]):  # some click again: not their first
        at = T0 + timedelta(minutes=53 * i)
        clicks.append(Click(link_id=link.id, campaign_id=cid, variant_id=m.variant_id, contact_id=m.contact_id,
                            first=i < len(delivered), test=i % 5 == 4, clicked_at=at))  # fmt: skip
    s.add_all(clicks)
    s.add(Conversion(campaign_id=cid, variant_id=variants[0], contact_id=1, value=10.0, order_id="o1", occurred_at=T0))
    s.add(Conversion(campaign_id=cid, variant_id=variants[0], contact_id=1, value=5.0, order_id="o2", occurred_at=T0))
    s.add(Conversion(campaign_id=cid, variant_id=variants[1], contact_id=2, value=7.5, order_id="o3", occurred_at=T0))
    s.add(Conversion(campaign_id=cid, variant_id=variants[1], contact_id=4, test=True, order_id="o4", occurred_at=T0))
    consent = []
    for i, m in enumerate(messages[::3]):
        sent_at = m.sent_at or T0
        # before the send (not counted), after it, and twice after it
        at = sent_at - timedelta(minutes=1) if i % 3 == 0 else sent_at + timedelta(minutes=i)
        consent.append(ConsentRecord(number=m.recipient, kind="opt_out", source="keyword", recorded_at=at))
        if i % 3 == 2:
            consent.append(ConsentRecord(number=m.recipient, kind="opt_out", source="keyword", recorded_at=at))
        consent.append(
            ConsentRecord(number=m.recipient, kind="opt_in", source="api", recorded_at=T0 + timedelta(days=3))
        )
    s.add_all(consent)
    return messages, clicks, consent


def _expected(messages: list[Message], clicks: list[Click], consent: list[ConsentRecord], variant: int) -> dict:
    mine = [m for m in messages if m.variant_id == variant]
    sent = [m for m in mine if m.sent_at is not None]
    opted = {
        m.recipient for m in sent
        for c in consent if c.kind == "opt_out" and c.number == m.recipient and c.recorded_at >= m.sent_at  # type: ignore[operator]
    }  # fmt: skip
    suppressed = Counter((m.held_reason or "other") for m in mine if m.status == "suppressed")
    return {
        "audience": len(mine),
        "suppressed": dict(suppressed),
        "deferred": sum(m.status == "queued" and m.held_reason in ("send_window", "paused") for m in mine),
        "sent": len(sent),
        "delivered": sum(m.status == "delivered" for m in mine),
        "failed": sum(m.status == "failed" for m in mine),
        "unique_clicks": sum(c.first and not c.test for c in clicks if c.variant_id == variant),
        "opt_outs": len(opted),
    }


def test_grouped_counts_match_the_definitions_row_by_row(engine: Engine) -> None:
    with session(engine, write=True) as s:
        row = campaigns.create(s, {"name": "w", "template": "x"}, api_key_id=None, now=T0)
        cid = row.id
        assert cid is not None
        a = CampaignVariant(campaign_id=cid, name="A", template="x", split=1)
        b = CampaignVariant(campaign_id=cid, name="B", template="y", split=1)
        s.add_all([a, b])
        s.flush()
        assert a.id is not None and b.id is not None
        messages, clicks, consent = _seed(s, cid, [a.id, b.id])
        s.commit()
        report = analytics.campaign_report(s, cid)
    keys = ["audience", "suppressed", "deferred", "sent", "delivered", "failed", "unique_clicks", "opt_outs"]
    by_name = {v["variant"]: {k: v[k] for k in keys} for v in report["variants"]}
    assert by_name == {
        "A": _expected(messages, clicks, consent, a.id),
        "B": _expected(messages, clicks, consent, b.id),
    }
    assert by_name["A"]["opt_outs"] > 0 and by_name["B"]["opt_outs"] > 0
    assert {k: report[k] for k in ("conversions", "converters", "revenue")} == {
        "conversions": 3, "converters": 2, "revenue": 22.5,
    }  # fmt: skip
    hours: Counter[str] = Counter()
    for m in messages:
        if m.sent_at is not None:
            hours[m.sent_at.replace(minute=0, second=0).isoformat()] += 1
    first_clicks = Counter(c.clicked_at.replace(minute=0, second=0).isoformat() for c in clicks if c.first)
    assert report["series"] == [
        {"hour": h, "sent": hours[h], "clicks": first_clicks[h]} for h in sorted(hours.keys() | first_clicks.keys())
    ]
