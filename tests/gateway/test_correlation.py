"""Delivery reports find their own part, even when the 8-bit message reference wraps."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core.correlation import Candidate, ReportKey, pick_part, same_number

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def sent_parts(count: int, *, spacing: float, recipients: list[str], modem: str = "m1") -> list[Candidate]:
    return [
        Candidate(
            part_id=i,
            modem_id=modem,
            message_reference=i % 256,
            recipient=recipients[i % len(recipients)],
            submitted_at=T0 + timedelta(seconds=i * spacing),
        )
        for i in range(count)
    ]


def report_for(part: Candidate, *, skew: float, delay: float, national: bool = False) -> ReportKey:
    recipient = "0" + part.recipient[3:] if national else part.recipient
    return ReportKey(
        modem_id=part.modem_id,
        message_reference=part.message_reference,
        recipient=recipient,
        scts=part.submitted_at + timedelta(seconds=skew),
        received_at=part.submitted_at + timedelta(seconds=delay),
    )


def test_more_than_256_parts_to_one_recipient_with_shuffled_late_reports():
    parts = sent_parts(700, spacing=1.0, recipients=["+31612345678"])
    reports = [(p, report_for(p, skew=random.uniform(-20, 20), delay=random.uniform(5, 900))) for p in parts]
    random.Random(7).shuffle(reports)
    for part, report in reports:
        assert pick_part(report, parts) is part


@settings(max_examples=50, deadline=None)
@given(
    count=st.integers(min_value=257, max_value=900),
    spacing=st.floats(min_value=0.5, max_value=10),
    skew=st.floats(min_value=-60, max_value=60),
    seed=st.integers(),
)
def test_mr_wrap_never_attaches_a_report_to_the_wrong_part(count, spacing, skew, seed):
    recipients = ["+31612345678", "+31687654321", "+4915112345678"]
    parts = sent_parts(count, spacing=spacing, recipients=recipients)
    rng = random.Random(seed)
    for part in rng.sample(parts, 40):
        # An SMSC clock off by up to a minute stays well inside half a wrap (256 parts).
        if 256 * spacing / 2 <= abs(skew):
            continue
        assert pick_part(report_for(part, skew=skew, delay=30), parts) is part


def test_national_and_international_forms_of_the_recipient_match():
    parts = sent_parts(3, spacing=1, recipients=["+31612345678"])
    assert pick_part(report_for(parts[1], skew=0, delay=5, national=True), parts) is parts[1]
    assert same_number("+31 6 1234 5678", "0612345678")
    assert not same_number("+31612345678", "+31612345679")


def test_report_for_another_modem_or_recipient_stays_unmatched():
    parts = sent_parts(3, spacing=1, recipients=["+31612345678"])
    other_modem = ReportKey("m2", 1, "+31612345678", T0, T0)
    other_number = ReportKey("m1", 1, "+31699999999", T0, T0)
    assert pick_part(other_modem, parts) is None
    assert pick_part(other_number, parts) is None


def test_report_far_outside_the_window_stays_unmatched():
    parts = sent_parts(3, spacing=1, recipients=["+31612345678"])
    late = ReportKey("m1", 1, "+31612345678", T0 + timedelta(days=3), T0 + timedelta(days=3))
    assert pick_part(late, parts) is None


def test_without_scts_a_report_cannot_belong_to_a_part_sent_after_it_arrived():
    parts = sent_parts(300, spacing=1, recipients=["+31612345678"])
    report = ReportKey("m1", 10, "+31612345678", None, T0 + timedelta(seconds=100))
    assert pick_part(report, parts) is parts[10]


def test_without_scts_a_part_still_waiting_for_its_report_is_preferred():
    first = Candidate(1, "m1", 5, "+31612345678", T0, has_final_report=True)
    second = Candidate(2, "m1", 5, "+31612345678", T0 - timedelta(seconds=30))
    report = ReportKey("m1", 5, "+31612345678", None, T0 + timedelta(minutes=1))
    assert pick_part(report, [first, second]) is second


def test_a_repeated_report_stays_with_the_part_its_scts_names():
    first = Candidate(1, "m1", 5, "+31612345678", T0, has_final_report=True)
    second = Candidate(2, "m1", 5, "+31612345678", T0 + timedelta(minutes=5))
    report = ReportKey("m1", 5, "+31612345678", T0 + timedelta(seconds=2), T0 + timedelta(minutes=6))
    assert pick_part(report, [first, second]) is first
