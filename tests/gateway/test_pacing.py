"""Per-modem pacing: a modem never sends faster than its rate and burst allow."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core.pacing import Pacer

DAY = date(2026, 11, 29)


def test_burst_then_one_part_per_interval():
    pacer = Pacer(sends_per_minute=6, burst=3, now=0.0, today=DAY)
    assert [pacer.take(0.0, DAY) for _ in range(4)] == [True, True, True, False]
    assert pacer.delay(0.0, DAY) == pytest.approx(10.0)
    assert not pacer.take(9.9, DAY)
    assert pacer.take(10.0, DAY)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(min_value=0.5, max_value=120),
    burst=st.integers(min_value=1, max_value=10),
    gaps=st.lists(st.floats(min_value=0, max_value=30), min_size=1, max_size=200),
)
def test_no_window_ever_holds_more_than_burst_plus_rate(rate, burst, gaps):
    pacer = Pacer(sends_per_minute=rate, burst=burst, now=0.0, today=DAY)
    now = 0.0
    sent: list[float] = []
    for gap in gaps:
        now += gap
        if pacer.take(now, DAY):
            sent.append(now)
    for i, start in enumerate(sent):
        for end in sent[i:]:
            window = end - start
            count = sum(1 for t in sent if start <= t <= end)
            assert count <= burst + rate * window / 60.0 + 1e-6


def test_daily_cap_stops_sending_until_the_next_day():
    pacer = Pacer(sends_per_minute=600, burst=100, daily_cap=5, now=0.0, today=DAY)
    assert sum(pacer.take(0.0, DAY) for _ in range(10)) == 5
    assert pacer.delay(1000.0, DAY) is None
    assert pacer.take(1000.0, date(2026, 11, 30))


def test_daily_count_survives_restart_through_sent_today():
    pacer = Pacer(sends_per_minute=60, burst=5, daily_cap=3, now=0.0, today=DAY, sent_today=3)
    assert pacer.delay(0.0, DAY) is None


def test_throttling_halves_the_rate_and_successes_restore_it():
    pacer = Pacer(sends_per_minute=60, burst=1, now=0.0, today=DAY)
    assert pacer.take(0.0, DAY)
    pacer.throttled(0.0)
    assert pacer.effective_per_minute == pytest.approx(30)
    assert pacer.delay(0.0, DAY) == pytest.approx(2.0)
    for _ in range(10):
        pacer.throttled(0.0)
    assert pacer.effective_per_minute == pytest.approx(60 / 8)  # floor
    for _ in range(20):
        pacer.succeeded(0.0)
    assert pacer.effective_per_minute == pytest.approx(60)
    assert not pacer.snapshot(0.0, DAY).slowed_down


def test_give_back_returns_a_token_a_refused_part_did_not_use():
    pacer = Pacer(sends_per_minute=1, burst=1, daily_cap=10, now=0.0, today=DAY)
    assert pacer.take(0.0, DAY)
    pacer.give_back()
    assert pacer.snapshot(0.0, DAY).sent_today == 0
    assert pacer.take(0.0, DAY)


def test_reconfiguring_keeps_earned_tokens_within_the_new_burst():
    pacer = Pacer(sends_per_minute=6, burst=5, now=0.0, today=DAY)
    pacer.configure(burst=2, sends_per_minute=60, now=0.0)
    assert [pacer.take(0.0, DAY) for _ in range(3)] == [True, True, False]
    assert pacer.delay(0.0, DAY) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        pacer.configure(sends_per_minute=0, now=0.0)
