"""The A/B decisions, pure: exact shares, the derived assignment, the z-test and Wilson
intervals against independent formulas, and a decision that waits for the clock."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta
from statistics import NormalDist

import pytest

from gateway.campaigns.abtest import Arm, Splitter, decide, derived, two_proportion_z, wilson
from tests.support.campaigns import T0


def test_splitter_lands_every_share_exactly() -> None:
    splitter = Splitter([1, 3])
    picks = Counter(splitter.pick() for _ in range(1000))
    assert picks == {0: 250, 1: 750}
    going_on = Splitter([20, 80], counts=[3, 7])  # after a restart: from what was assigned
    assert Counter(going_on.pick() for _ in range(90)) == {0: 17, 1: 73}


def test_derived_assignment_is_stable_and_follows_the_shares() -> None:
    first = [derived(7, c, [1, 1], 20) for c in range(10_000)]
    assert first == [derived(7, c, [1, 1], 20) for c in range(10_000)]  # the same on every call
    assert first != [derived(8, c, [1, 1], 20) for c in range(10_000)]  # another campaign, other draws
    test = [v for v, in_test in first if in_test]
    assert 1800 < len(test) < 2200 and 800 < test.count(1) < 1200


def test_z_test_agrees_with_the_normal_distribution() -> None:
    z, p = two_proportion_z(40, 100, 15, 100)
    pooled = 55 / 200
    expected_z = (0.40 - 0.15) / math.sqrt(pooled * (1 - pooled) * (2 / 100))
    assert z == pytest.approx(expected_z)
    assert p == pytest.approx(2 * (1 - NormalDist().cdf(expected_z)), rel=1e-6)
    assert two_proportion_z(0, 100, 0, 100) == (0.0, 1.0)  # nothing to tell apart
    assert two_proportion_z(3, 0, 1, 10) == (0.0, 1.0)


def test_wilson_interval_of_forty_in_a_hundred() -> None:
    low, high = wilson(40, 100)  # type: ignore[misc]
    assert (round(low, 4), round(high, 4)) == (0.3094, 0.4980)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)  # type: ignore[index]
    assert wilson(0, 0) is None


def test_decision_waits_for_the_clock_then_names_the_leader() -> None:
    arms = [Arm(1, "A", 100, 15), Arm(2, "B", 100, 40)]
    wait = timedelta(hours=1)
    assert decide(arms, metric="click", tested_at=T0, wait=wait, now=T0 + timedelta(minutes=59)) is None
    assert decide(arms, metric="click", tested_at=None, wait=wait, now=T0 + timedelta(days=9)) is None
    decision = decide(arms, metric="click", tested_at=T0, wait=wait, now=T0 + wait)
    assert decision is not None and decision.winner == "B" and decision.significant
    assert decision.p_value is not None and decision.p_value < 0.001


def test_a_close_lead_wins_without_significance_and_a_tie_goes_to_the_first() -> None:
    close = decide([Arm(1, "A", 100, 20), Arm(2, "B", 100, 22)], metric="click", tested_at=T0,
                   wait=timedelta(0), now=T0)  # fmt: skip
    assert close is not None and close.winner == "B" and not close.significant and close.p_value > 0.5  # type: ignore[operator]
    tie = decide([Arm(1, "A", 50, 5), Arm(2, "B", 50, 5)], metric="click", tested_at=T0, wait=timedelta(0), now=T0)
    assert tie is not None and tie.winner == "A" and not tie.significant
