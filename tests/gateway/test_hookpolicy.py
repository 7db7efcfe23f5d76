"""Webhook retry and circuit-breaker decisions, walked through with a made-up clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.core.hookpolicy import GIVE_UP_AFTER, Breaker, backoff, next_attempt, spread

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


@pytest.mark.parametrize("attempt, seconds", [(1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (50, 3600)])
def test_backoff_doubles_to_an_hour(attempt: int, seconds: int) -> None:
    assert backoff(attempt) == s(seconds)


def test_a_retry_counts_from_the_deliverys_own_attempt_spread_by_its_id() -> None:
    # Two deliveries that failed in one round, one 30 s later than the other (behind a slow
    # receiver): each is due after its own attempt, not both at the round's start.
    first = next_attempt(1, 1, T0, T0)
    second = next_attempt(2, 1, T0 + s(30), T0)
    assert first is not None and second is not None
    assert s(10) <= first - T0 < s(12.5) and s(40) <= second - T0 < s(42.5)
    # Deliveries failing at one instant are spread over a quarter of the backoff.
    dues = {next_attempt(i, 3, T0, T0) for i in range(1, 101)}
    assert len(dues) > 90 and all(d is not None and s(40) <= d - T0 < s(50) for d in dues)
    assert all(0 <= spread(i) < 0.25 for i in range(1, 1000))


def test_a_delivery_is_given_up_once_its_next_try_would_be_past_24_hours() -> None:
    assert next_attempt(7, 30, T0 + GIVE_UP_AFTER - s(3000), T0) is None  # an hour's backoff from here is past it
    assert next_attempt(7, 30, T0 + GIVE_UP_AFTER - s(3600 * 1.25 + 1), T0) is not None


# Each row: (seconds after T0, what happens, slots expected right after it).
# "fail"/"ok": an attempt started and ended then; "look": only ask for slots.
WALK = [
    (0, "fail", 4),
    (1, "fail", 4),
    (2, "fail", 4),
    (3, "fail", 4),
    (4, "fail", 0),  # the fifth failure in a row pauses the endpoint for 30 s
    (20, "look", 0),
    (34, "look", 1),  # the pause is over: one probe may go
    (34, "fail", 0),  # the probe failed: paused again, for 60 s
    (90, "look", 0),
    (94, "look", 1),
    (94, "ok", 4),  # the probe got through: the endpoint is back to full concurrency
    (95, "fail", 4),  # and counts failures from zero again
]


def test_the_breaker_pauses_after_five_failures_in_a_row_and_resumes_with_a_probe() -> None:
    breaker = Breaker()
    for at, event, slots in WALK:
        now = T0 + s(at)
        if event != "look":
            assert breaker.slots(now, 4, 0) > 0, at
            breaker.started(now)
            breaker.succeeded() if event == "ok" else breaker.failed(now)
        assert breaker.slots(now, 4, 0) == slots, (at, event, breaker)


def test_a_probe_in_flight_holds_the_others_back_and_late_failures_do_not_extend_a_pause() -> None:
    breaker = Breaker(failures=2, pause=s(10))
    breaker.failed(T0)
    breaker.failed(T0)
    assert breaker.state(T0) == "open" and breaker.paused_until == T0 + s(10)
    breaker.failed(T0 + s(5))  # an attempt begun before the pause
    assert breaker.paused_until == T0 + s(10)
    breaker.started(T0 + s(10))
    assert breaker.probing and breaker.slots(T0 + s(11), 4, 1) == 0
    breaker.succeeded()
    assert breaker.slots(T0 + s(11), 4, 1) == 3


def test_pauses_double_up_to_the_maximum() -> None:
    breaker = Breaker(failures=1, pause=s(30), max_pause=s(100))
    now = T0
    lengths = []
    for _ in range(4):
        breaker.started(now)
        breaker.failed(now)
        assert breaker.paused_until is not None
        lengths.append((breaker.paused_until - now).total_seconds())
        now = breaker.paused_until
    assert lengths == [30, 60, 100, 100]


def test_slots_are_concurrency_minus_attempts_in_flight() -> None:
    assert [Breaker().slots(T0, 4, n) for n in range(6)] == [4, 3, 2, 1, 0, 0]
