"""Frequency cap across campaigns, the A/B split, pause / resume / cancel, templates and links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from gateway import campaigns
from gateway.campaigns import analytics, links
from gateway.campaigns.compliance import window_opening
from gateway.campaigns.templates import compile_template, compose
from gateway.core.db import session
from gateway.core.errors import InvalidInput, NotFound
from gateway.core.models import Message
from tests.support.campaigns import PUBLIC_URL, T0, Person, audience, by_status, drain, start
from tests.support.dns import resolve


def test_frequency_cap_holds_across_two_campaigns(engine) -> None:
    people = [Person(f"+3161000000{i}") for i in range(4)]
    list_id = audience(engine, people)
    first = start(engine, list_id=list_id, name="first", frequency_cap=1)
    assert len(drain(engine, now=T0)) == 4
    later = T0 + timedelta(hours=1)
    second = start(engine, list_id=list_id, name="second", frequency_cap=1, now=later)
    assert drain(engine, now=later) == []
    assert by_status(engine, second) == {("suppressed", "frequency_cap"): 4}
    # Eight days on, the first campaign's messages no longer count.
    week = T0 + timedelta(days=8)
    third = start(engine, list_id=list_id, name="third", frequency_cap=1, now=week)
    assert len(drain(engine, now=week)) == 4
    assert by_status(engine, first) == {("sent", None): 4} and by_status(engine, third) == {("sent", None): 4}


def test_ab_split_of_two_thousand_lands_within_three_percent(sqlite_engine) -> None:
    people = [Person(f"+316{20000000 + i}") for i in range(2000)]
    list_id = audience(sqlite_engine, people)
    variants = [
        {"name": "A", "template": "A: 10% off https://shop.example/a", "split": 50},
        {"name": "B", "template": "B: free shipping https://shop.example/b", "split": 50},
    ]
    campaign_id = start(sqlite_engine, list_id=list_id, variants=variants)
    with sqlite_engine.connect() as conn:
        counts = dict(
            conn.execute(
                sa.select(sa.func.substr(Message.text, 1, 2), sa.func.count())
                .where(Message.campaign_id == campaign_id).group_by(sa.func.substr(Message.text, 1, 2))
            ).all()
        )  # fmt: skip
    assert sum(counts.values()) == 2000
    assert abs(counts["A:"] - 1000) <= 60 and abs(counts["B:"] - 1000) <= 60


def test_pause_holds_queued_messages_resume_sends_them_cancel_ends_them(engine) -> None:
    list_id = audience(engine, [Person(f"+3161000001{i}") for i in range(3)])
    campaign_id = start(engine, list_id=list_id)
    with session(engine, write=True) as s:
        campaigns.pause(s, campaign_id, now=T0)
        s.commit()
    assert drain(engine, now=T0 + timedelta(minutes=5)) == []
    with session(engine, write=True) as s:
        campaigns.resume(s, campaign_id, now=T0 + timedelta(minutes=5))
        s.commit()
    assert len(drain(engine, now=T0 + timedelta(minutes=5))) == 3

    other = audience(engine, [Person(f"+3161000002{i}") for i in range(2)], list_name="others")
    second = start(engine, list_id=other, name="second")
    with session(engine, write=True) as s:
        campaigns.cancel(s, second, now=T0)
        s.commit()
    assert drain(engine, now=T0) == []
    assert by_status(engine, second) == {("suppressed", "cancelled"): 2}
    campaigns.run_due(engine, now=T0 + timedelta(minutes=6), settings=None)
    with session(engine) as s:
        assert campaigns.get(s, campaign_id).status == "done"
        assert campaigns.get(s, second).status == "cancelled"


def test_claim_defers_a_campaign_message_whose_window_closed_while_it_waited(engine) -> None:
    list_id = audience(engine, [Person(f"+3161000003{i}") for i in range(3)])
    campaign_id = start(engine, list_id=list_id)
    evening = datetime(2026, 12, 1, 19, 30, tzinfo=UTC)  # 20:30 in Amsterdam
    assert drain(engine, now=evening) == []
    assert by_status(engine, campaign_id) == {("queued", "send_window"): 3}
    morning = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
    assert len(drain(engine, now=morning)) == 3


def test_local_time_schedule_sends_each_zone_at_its_own_ten_oclock(engine) -> None:
    list_id = audience(engine, [Person("+31610000040"), Person("+31610000041", zone="America/New_York")])
    with session(engine, write=True) as s:
        row = campaigns.create(s, {"name": "local", "template": "Hello", "lists": [list_id]}, api_key_id=None, now=T0)
        assert not campaigns.review(s, row.id, public_url=PUBLIC_URL, now=T0, resolver=resolve).errors
        campaigns.schedule(s, row.id, kind="local", local_at=datetime(2026, 12, 2, 10, 0), now=T0)
        s.commit()
    assert campaigns.run_due(engine, now=T0, settings=None) == 0  # expanded when UTC+14 reaches 10:00
    assert campaigns.run_due(engine, now=datetime(2026, 12, 1, 20, 0, tzinfo=UTC), settings=None) == 2
    with engine.connect() as conn:
        due = dict(
            conn.execute(
                sa.select(Message.time_zone, Message.next_attempt_at).where(Message.campaign_id == row.id)
            ).all()
        )
    assert due == {
        "Europe/Amsterdam": datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
        "America/New_York": datetime(2026, 12, 2, 15, 0, tzinfo=UTC),
    }


def test_template_tokens_defaults_footer_once_and_short_link_length() -> None:
    template = compile_template("Hi {{first_name|there}} {{ city }}! See https://shop.example/x?a=1.")
    body = template.render({"first_name": None, "city": "Utrecht"}, ["https://go.example/r/AAAAAAAAAA"])
    assert body == "Hi there Utrecht! See https://go.example/r/AAAAAAAAAA."
    assert template.missing({"first_name": "Bo"}) == ["city"]
    text = compose("Sale! Reply stop to opt out", brand="Acme", footer="Reply STOP to opt out")
    assert text == "Acme: Sale! Reply stop to opt out"
    assert compose("Acme: hi", brand="Acme", footer=None) == "Acme: hi"
    with pytest.raises(InvalidInput):
        compile_template("Hi {{first_name")


def test_review_reports_consent_invalid_numbers_tokens_segments_and_quiet_hours(engine) -> None:
    people = [
        Person("+31610000050", first_name=None),
        Person("+31610000051", consent=False),
        Person("+31610000052", opted_out=True),
        Person("0612", first_name="X"),
        Person("+31610000054", zone="Asia/Tokyo"),
    ]
    list_id = audience(engine, people)
    long_url = "https://shop.example/" + "x" * 300
    with session(engine, write=True) as s:
        row = campaigns.create(
            s,
            {"name": "r", "template": f"Hi {{{{first_name}}}} {long_url}", "lists": [list_id]},
            api_key_id=None,
            now=T0,
        )
        result = campaigns.review(
            s,
            row.id,
            public_url=PUBLIC_URL,
            now=T0,
            settings=campaigns.CampaignSettings(monthly_segment_quota=3),
            resolver=resolve,
        )
    codes = {w.code: w.count for w in result.warnings}
    assert (result.audience, result.sendable, result.invalid_numbers, result.opted_out, result.no_consent) == (
        5,
        2,
        1,
        1,
        1,
    )
    assert codes["missing_token"] == 1 and codes["quiet_hours"] == 1 and codes["no_consent"] == 1
    assert result.segments_total == 2  # the short link, not the 300-character URL
    assert codes["quota"] is None and result.quota_share == pytest.approx(2 / 3)


def test_window_opening_overnight_and_unbounded() -> None:
    late = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)
    assert window_opening(late, "UTC", "10:00", "20:00") == datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    assert window_opening(late, "UTC", "22:00", "06:00") is None
    assert window_opening(late, "UTC", "00:00", "24:00") is None


def test_click_redirects_to_stored_target_with_utm_once_per_recipient(engine) -> None:
    list_id = audience(engine, [Person("+31610000060")])
    campaign_id = start(engine, list_id=list_id)
    with engine.connect() as conn:
        code = conn.execute(sa.text("SELECT code FROM link")).scalar_one()
    with session(engine, write=True) as s:
        target = links.follow(s, code, now=T0)
        links.follow(s, code, now=T0)
        s.commit()
        assert target.startswith("https://shop.example/sale?")
        assert "utm_source=sms&utm_medium=sms&utm_campaign=winter-sale" in target
        with pytest.raises(NotFound):
            links.follow(s, "https://evil.example", now=T0)
        conversion, new = links.record_conversion(s, code=code, order_id="o-1", value=25.0, now=T0)
        assert conversion.campaign_id == campaign_id and new
    with engine.connect() as conn:
        firsts = conn.execute(sa.text("SELECT count(*) FROM click WHERE first")).scalar_one()
    assert firsts == 1


def test_repeated_visits_by_one_client_are_one_click_per_window(engine) -> None:
    list_id = audience(engine, [Person("+31610000061")])
    campaign_id = start(engine, list_id=list_id)
    with engine.connect() as conn:
        code = conn.execute(sa.text("SELECT code FROM link")).scalar_one()
    crawler = links.client_key("203.0.113.9", "Crawler/1.0")
    phone = links.client_key("198.51.100.7", "Mozilla/5.0 (Linux; Android 14)")
    window = timedelta(minutes=10)
    with session(engine, write=True) as s:
        for second in range(200):  # a redirect loop or a crawler: every visit is redirected
            at = T0 + timedelta(seconds=second)
            assert links.follow(s, code, now=at, client=crawler, window=window).startswith("https://shop.example/")
        links.follow(s, code, now=T0 + timedelta(seconds=5), client=phone, window=window)
        links.follow(s, code, now=T0 + timedelta(minutes=11), client=crawler, window=window)  # a new window
        s.commit()
    with engine.connect() as conn:
        clicks = conn.execute(sa.text("SELECT client, first FROM click ORDER BY id")).all()
        columns = " ".join(str(v) for row in conn.execute(sa.text("SELECT * FROM click")).all() for v in row)
    assert [(c, bool(f)) for c, f in clicks] == [(crawler, True), (phone, False), (crawler, False)]
    assert "203.0.113.9" not in columns and "198.51.100.7" not in columns  # only a hash is stored
    with session(engine) as s:
        assert analytics.campaign_report(s, campaign_id)["unique_clicks"] == 1
