"""A/B decisions, pure: who gets which variant, and which variant wins.

Assignment. A contact's variant (and, with a test share, whether it is in the test group)
is decided once. Review assigns the whole audience as it is then, by largest deficit over
a shuffle seeded by the campaign (`Splitter`): the test share and the weights land exactly
(to one contact). A contact that joins the audience later gets `derived`: a hash of the
campaign and contact ids, so preview, test send and expansion agree on it without storing
anything first; expansion stores what it used.

Winner. After the wait (counted from when the test group was queued), the variant with the
best rate of the chosen metric wins — click rate (recipients who clicked / messages sent),
conversion rate (recipients who converted / sent) or delivery rate (delivered / sent) —
over the test group only, test sends left out. Whether the lead is significant is a
two-sided two-proportion z-test with the pooled proportion, between the leader and the
runner-up: z = (p1 − p2) / √(p̂(1 − p̂)(1/n1 + 1/n2)), p = erfc(|z|/√2). The winner is the
leader either way — the rest of the audience gets one text, and the leader is the best
guess — and the decision says whether it was significant at `alpha`. Intervals are Wilson
score intervals (95 %), which stay inside [0, 1] and behave for small counts.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

__all__ = [
    "Metric",
    "Arm",
    "Decision",
    "Splitter",
    "derived",
    "wilson",
    "two_proportion_z",
    "decide",
    "Z95",
]

Metric = Literal["click", "conversion", "delivery"]
Z95 = 1.959963984540054  # the standard normal's 97.5th percentile: two-sided 95 %


@dataclass(frozen=True)
class Arm:
    """One variant's test-group figures: `n` messages sent, `successes` by the metric."""

    variant_id: int
    name: str
    n: int
    successes: int

    @property
    def rate(self) -> float | None:
        return self.successes / self.n if self.n else None


@dataclass(frozen=True)
class Decision:
    winner_id: int
    winner: str
    metric: str
    significant: bool
    p_value: float | None  # None when there was nothing to compare (no sends)
    z: float | None
    alpha: float
    decided_at: datetime
    manual: bool = False
    arms: tuple[dict[str, Any], ...] = ()

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["decided_at"] = self.decided_at.isoformat()
        out["arms"] = list(self.arms)
        return out


class Splitter:
    """Shares that land exactly: each pick goes to the choice furthest behind its share."""

    def __init__(self, weights: Sequence[int], counts: Sequence[int] | None = None) -> None:
        if not weights or min(weights) <= 0:
            raise ValueError("weights are positive")
        self.weights = list(weights)
        self.total = sum(weights)
        self.counts = list(counts) if counts is not None else [0] * len(weights)

    def pick(self) -> int:
        made = sum(self.counts) + 1
        best = max(range(len(self.weights)), key=lambda i: self.weights[i] * made / self.total - self.counts[i])
        self.counts[best] += 1
        return best


def derived(campaign_id: int, contact_id: int, weights: Sequence[int], test_share: int | None) -> tuple[int, bool]:
    """(variant index, in the test group) for a contact the review did not assign: from a hash
    of the two ids, so every caller gets the same answer without storing it first. Outside
    the test group the index is meaningless (the contact gets the winner)."""
    digest = hashlib.sha256(f"{campaign_id}:{contact_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    if test_share is not None:
        share = test_share / 100
        if point >= share:
            return 0, False
        point /= share
    target = point * sum(weights)
    for i, weight in enumerate(weights):
        if target < weight:
            return i, test_share is not None
        target -= weight
    return len(weights) - 1, test_share is not None


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None without trials)."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_z(s1: int, n1: int, s2: int, n2: int) -> tuple[float, float]:
    """(z, two-sided p) of the pooled two-proportion z-test; (0, 1) when it cannot tell."""
    if n1 <= 0 or n2 <= 0:
        return 0.0, 1.0
    pooled = (s1 + s2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 0.0, 1.0
    z = (s1 / n1 - s2 / n2) / spread
    return z, math.erfc(abs(z) / math.sqrt(2))


def decide(
    arms: Sequence[Arm],
    *,
    metric: str,
    tested_at: datetime | None,
    wait: timedelta,
    now: datetime,
    alpha: float = 0.05,
) -> Decision | None:
    """The winner once `wait` has passed since `tested_at`, else None. Ties go to the
    variant listed first (the stable order of `arms`)."""
    if tested_at is None or now < tested_at + wait or not arms:
        return None
    ranked = sorted(range(len(arms)), key=lambda i: (-(arms[i].rate or 0.0), i))
    leader = arms[ranked[0]]
    z: float | None = None
    p: float | None = None
    if len(ranked) > 1 and leader.n and arms[ranked[1]].n:
        second = arms[ranked[1]]
        z, p = two_proportion_z(leader.successes, leader.n, second.successes, second.n)
    return Decision(
        winner_id=leader.variant_id,
        winner=leader.name,
        metric=metric,
        significant=p is not None and p < alpha,
        p_value=p,
        z=z,
        alpha=alpha,
        decided_at=now,
        arms=tuple(figures(a) for a in arms),
    )


def figures(arm: Arm) -> dict[str, Any]:
    """An arm as the analytics show it: counts, rate and its Wilson interval."""
    interval = wilson(arm.successes, arm.n)
    return {
        "variant": arm.name,
        "variant_id": arm.variant_id,
        "n": arm.n,
        "successes": arm.successes,
        "rate": arm.rate,
        "interval": list(interval) if interval else None,
    }
