"""A modem's daily cap is a hard limit, counted on the modem's own calendar day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.core.dailycap import claim_limit, day_start, fits, modem_day, until_next_day
from gateway.core.pacing import Pacer

DAY = date(2026, 11, 29)
LAGOS = ZoneInfo("Africa/Lagos")  # UTC+1, no daylight saving
AUCKLAND = ZoneInfo("Pacific/Auckland")


@pytest.mark.parametrize(
    ("cap", "sent", "parts", "limit", "ok"),
    [
        (0, 10_000, 255, None, True),  # no cap
        (5, 0, 5, 5, True),
        (5, 4, 1, 1, True),
        (5, 4, 2, 1, False),  # a 2-part message on the last part of the day waits
        (5, 3, 2, 2, True),  # it fits exactly: the day ends at the cap, not past it
        (5, 5, 1, 0, False),
        (5, 7, 1, 0, False),  # lowered under the count: no room, never negative
        (300, 298, 3, 2, False),
    ],
)
def test_what_a_modem_may_claim_against_its_daily_cap(cap, sent, parts, limit, ok):
    assert claim_limit(cap, sent) == limit
    assert fits(parts, cap, sent) is ok


@pytest.mark.parametrize(
    ("now", "zone", "day", "seconds_left"),
    [
        (datetime(2026, 11, 29, 22, 30, tzinfo=UTC), ZoneInfo("UTC"), date(2026, 11, 29), 5400),
        (datetime(2026, 11, 29, 23, 30, tzinfo=UTC), LAGOS, date(2026, 11, 30), 84600),  # already tomorrow there
        (datetime(2026, 11, 29, 22, 59, tzinfo=UTC), LAGOS, date(2026, 11, 29), 60),
        (datetime(2026, 11, 29, 10, 0, tzinfo=UTC), AUCKLAND, date(2026, 11, 29), 3600),  # NZDT, UTC+13
    ],
)
def test_the_day_is_the_modems_own(now, zone, day, seconds_left):
    assert modem_day(now, zone) == day
    assert until_next_day(now, zone) == pytest.approx(seconds_left)
    assert day_start(day, zone) <= now < day_start(day + timedelta(days=1), zone)


def test_a_day_with_a_daylight_saving_change_is_counted_as_it_is():
    # Europe/Amsterdam gains an hour on 2026-10-25: that day lasts 25 hours.
    zone = ZoneInfo("Europe/Amsterdam")
    start, end = day_start(date(2026, 10, 25), zone), day_start(date(2026, 10, 26), zone)
    assert (end - start).total_seconds() == 25 * 3600


def test_the_pacer_never_lets_a_part_past_the_cap():
    pacer = Pacer(sends_per_minute=600, burst=100, daily_cap=5, now=0.0, today=DAY)
    assert pacer.room(DAY) == 5
    assert sum(pacer.take(0.0, DAY) for _ in range(8)) == 5
    assert pacer.room(DAY) == 0 and pacer.delay(0.0, DAY) is None
    assert pacer.room(date(2026, 11, 30)) == 5  # the next day starts from zero


def test_an_unlimited_pacer_never_waits_but_still_keeps_the_cap():
    pacer = Pacer(sends_per_minute=float("inf"), burst=1, daily_cap=1000, now=0.0, today=DAY)
    assert pacer.unlimited
    assert all(pacer.take(0.0, DAY) for _ in range(1000))
    assert not pacer.take(0.0, DAY)
    assert pacer.snapshot(0.0, DAY).sent_today == 1000
