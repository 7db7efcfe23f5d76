"""The hourly series of a campaign's analytics: sends and first clicks per UTC hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from gateway import campaigns
from gateway.campaigns import analytics
from gateway.core.db import session
from gateway.core.models import Click, Link, Message

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _sent(campaign_id: int, i: int, sent_at: datetime | None) -> Message:
    return Message(
        request_hash="x", recipient=f"+3161234{i:04d}", text="t", encoding="gsm7", parts_total=1,
        status="delivered" if sent_at else "queued", campaign_id=campaign_id, category="marketing",
        next_attempt_at=T0, valid_until=T0 + timedelta(days=1), created_at=T0, updated_at=T0, sent_at=sent_at,
    )  # fmt: skip


def test_series_counts_sends_and_first_clicks_per_utc_hour(engine: Engine) -> None:
    with session(engine, write=True) as s:
        row = campaigns.create(s, {"name": "w", "template": "x"}, api_key_id=None, now=T0)
        cid = row.id
        assert cid is not None
        times = [T0 + timedelta(minutes=5), T0 + timedelta(minutes=59, seconds=59), T0 + timedelta(hours=1, minutes=1)]
        for i, at in enumerate([*times, None]):
            s.add(_sent(cid, i, at))
        link = Link(code="abc", target="https://shop.example", campaign_id=cid, contact_id=1, created_at=T0)
        s.add(link)
        s.flush()
        s.add(Click(link_id=link.id, campaign_id=cid, contact_id=1, first=True, clicked_at=T0 + timedelta(hours=1)))  # type: ignore[arg-type]
        s.add(Click(link_id=link.id, campaign_id=cid, contact_id=1, first=False, clicked_at=T0 + timedelta(hours=1)))  # type: ignore[arg-type]
        s.commit()
        series = analytics.campaign_report(s, cid)["series"]
    assert series == [
        {"hour": "2026-12-01T09:00:00+00:00", "sent": 2, "clicks": 0},
        {"hour": "2026-12-01T10:00:00+00:00", "sent": 1, "clicks": 1},
    ]
