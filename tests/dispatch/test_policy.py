"""The retry and health policy, row by row: each rule of gateway.core.policy, without I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from drivers._exceptions import AtError, AtProtocolError, CmeError, CmsError, CommandError, ModemGone, ModemTimeout
from drivers.at.errors import Action
from gateway.core.policy import (
    MOST_CLAIMED,
    RESEND_WHOLE_AFTER,
    Decision,
    SendFailure,
    SendRecord,
    answering_state,
    claim_batch,
    error_class,
    is_throttling,
    may_start,
    on_failure,
    on_stop,
    on_success,
    poll_failure_is_fault,
)

S, OTHER, P, F = Action.RETRY_SAME, Action.RETRY_OTHER_MODEM, Action.PERMANENT, Action.MODEM_FAULT


@dataclass(frozen=True)
class Row:
    record: SendRecord
    failure: SendFailure
    expected: Decision


def failure(
    action: Action,
    *,
    sent_any: bool = False,
    attempt: int = 1,
    throttling: bool = False,
    answering: bool = False,
    gone: bool = False,
) -> SendFailure:
    return SendFailure(
        action, throttling=throttling, sent_any=sent_any, attempt=attempt, answering=answering, gone=gone
    )


FRESH = SendRecord()
ONE_FAILED = SendRecord(failed_sends=1)
FAULTED = SendRecord(failed_sends=2, send_faults=1)

ROWS: dict[str, Row] = {
    # permanent: the message fails, the modem's record is untouched (it sends fine).
    "permanent-fails-message-keeps-streak": Row(ONE_FAILED, failure(P), Decision(P, ONE_FAILED, "fail")),
    "permanent-even-with-parts-out": Row(FRESH, failure(P, sent_any=True, attempt=4), Decision(P, FRESH, "fail")),
    # retry_same: first try, nothing out -> any modem, now.
    "retry-same-first-try-goes-to-any-modem": Row(FRESH, failure(S), Decision(S, ONE_FAILED, "retry")),
    "retry-same-later-try-waits-for-this-modem": Row(
        FRESH, failure(S, attempt=2), Decision(S, ONE_FAILED, "retry", pinned=True)
    ),
    "retry-same-parts-out-stays-pinned": Row(
        FRESH, failure(S, sent_any=True, attempt=RESEND_WHOLE_AFTER - 1), Decision(S, ONE_FAILED, "retry", pinned=True)
    ),
    "retry-same-pinned-third-attempt-resent-whole": Row(
        FRESH,
        failure(S, sent_any=True, attempt=RESEND_WHOLE_AFTER),
        Decision(S, ONE_FAILED, "retry", resend_whole=True),
    ),
    "retry-same-throttling-slows-modem": Row(
        FRESH, failure(S, throttling=True), Decision(S, ONE_FAILED, "retry", slow_down=True)
    ),
    "retry-same-counts-the-streak": Row(
        ONE_FAILED, failure(S, attempt=2), Decision(S, SendRecord(failed_sends=2), "retry", pinned=True)
    ),
    # retry_other_modem: any modem now, whole if parts went out; this one steps aside.
    "other-modem-first-in-a-row-steps-aside": Row(
        FRESH, failure(OTHER), Decision(OTHER, ONE_FAILED, "retry", step_aside=True)
    ),
    "other-modem-parts-out-resent-whole": Row(
        FRESH, failure(OTHER, sent_any=True), Decision(OTHER, ONE_FAILED, "retry", resend_whole=True, step_aside=True)
    ),
    "other-modem-second-in-a-row-is-modem-fault": Row(
        ONE_FAILED,
        failure(OTHER, answering=True),
        Decision(F, SendRecord(failed_sends=2, send_faults=1), "retry", take_out=True, read_health=True, close=True),
    ),
    # modem_fault: out of service, message elsewhere (whole if parts went out).
    "fault-answering-modem-health-read-then-closed": Row(
        FRESH,
        failure(F, answering=True),
        Decision(F, SendRecord(1, 1), "retry", take_out=True, read_health=True, close=True),
    ),
    "fault-silent-modem-closed-without-reading": Row(
        FRESH, failure(F), Decision(F, SendRecord(1, 1), "retry", take_out=True, close=True)
    ),
    "fault-gone-port-left-alone": Row(
        FRESH,
        failure(F, gone=True, sent_any=True),
        Decision(F, SendRecord(1, 1), "retry", resend_whole=True, take_out=True),
    ),
    "fault-again-grows-the-reopen-backoff": Row(
        FAULTED,
        failure(F, answering=True),
        Decision(F, SendRecord(3, 2), "retry", take_out=True, read_health=True, close=True),
    ),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_policy_row(name: str) -> None:
    row = ROWS[name]
    assert on_failure(row.record, row.failure) == row.expected


def test_every_action_has_a_row() -> None:
    assert {row.failure.action for row in ROWS.values()} == set(Action)
    assert {row.expected.action for row in ROWS.values()} == set(Action)


def test_streak_handed_to_classify_counts_this_failure() -> None:
    assert FRESH.next_streak == 1
    assert ONE_FAILED.next_streak == 2


@pytest.mark.parametrize("record", [FRESH, ONE_FAILED, FAULTED])
def test_a_sent_part_clears_the_record(record: SendRecord) -> None:
    assert on_success(record) == SendRecord()


@pytest.mark.parametrize(("record", "state"), [(FRESH, "ready"), (ONE_FAILED, "ready"), (FAULTED, "faulty")])
def test_answering_modem_stays_faulty_until_it_sends(record: SendRecord, state: str) -> None:
    assert answering_state(record) == state


@pytest.mark.parametrize(
    ("error", "throttling"),
    [
        (CmsError(41), True),
        (CmsError(42), True),
        (CmsError(47), True),
        (CmsError(332), True),
        (CmeError(14), True),
        (CmsError(500), False),
        (CmsError(None, "Congestion"), False),
        (CmeError(30), False),
        (CommandError("ERROR"), False),
        (ModemTimeout("no answer"), False),
        (ModemGone("unplugged"), False),
    ],
)
def test_throttling_errors(error: CmsError, throttling: bool) -> None:
    assert is_throttling(error) is throttling


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (CmsError(500), False),
        (CmeError(None, "SIM busy"), False),
        (CommandError("ERROR"), False),
        (ModemTimeout("no answer"), True),
        (ModemGone("unplugged"), True),
        (AtProtocolError("junk"), True),
    ],
)
def test_a_failed_poll_faults_the_modem_unless_it_answered(error: AtError, fault: bool) -> None:
    assert poll_failure_is_fault(error) is fault


@pytest.mark.parametrize(
    ("error", "failed_sends", "expected"),
    [
        # A vague error is a passing glitch the first time, the modem's fault when repeated.
        (CmsError(500), 0, S),
        (CmsError(500), 1, F),
        (CmeError(100), 2, F),
        (CommandError("ERROR"), 0, S),
        (CommandError("ERROR"), 1, F),
        (CmsError(532), 0, S),  # manufacturer-specific
        (CmsError(532), 1, F),
        # A specific code keeps its table's class however often it comes.
        (CmsError(332), 4, S),
        (CmsError(1), 4, P),
        (CmsError(331), 1, OTHER),
    ],
)
def test_error_class_escalates_only_vague_errors_repeated(error: AtError, failed_sends: int, expected: Action) -> None:
    assert error_class(error, SendRecord(failed_sends=failed_sends)) is expected


# --- stopping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("started", "remaining", "wait", "send_time", "expected"),
    [
        (False, 30.0, 0.0, 0.5, "release"),  # claimed, nothing out: back whole, for anyone
        (False, float("inf"), 0.0, 0.5, "release"),
        (True, 30.0, 0.0, 0.5, "send"),  # started: the handset waits for the rest
        (True, 30.0, None, 0.5, "send"),  # the daily cap does not cut a started message
        (True, 1.0, 0.0, 0.7, "send"),
        (True, 0.5, 0.0, 0.7, "release"),  # the part could still be in flight at the end
        (True, 2.0, 1.5, 0.7, "release"),  # its token comes too late
        (True, 0.0, 0.0, 0.0, "send"),
        (True, -1.0, 0.0, 0.1, "release"),  # past the deadline
    ],
)
def test_a_stopping_worker_finishes_a_started_message_only_within_the_grace(
    started: bool, remaining: float, wait: float | None, send_time: float, expected: str
) -> None:
    assert on_stop(started=started, remaining=remaining, wait=wait, send_time=send_time) == expected


# --- claiming several at once ---------------------------------------------------------------


def test_a_claim_takes_what_the_modem_sends_in_about_a_second():
    assert claim_batch(tokens=math.inf, send_time=None) == 1  # its speed not known yet
    assert claim_batch(tokens=math.inf, send_time=0.25) == 4
    assert claim_batch(tokens=math.inf, send_time=0.001) == MOST_CLAIMED
    assert claim_batch(tokens=math.inf, send_time=3.0) == 1  # a real SIM: one at a time
    assert claim_batch(tokens=2.7, send_time=0.01) == 2  # no more than its pacing lets go now


def test_a_claimed_message_is_started_only_in_the_first_half_of_its_lease():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    until = t0 + timedelta(minutes=5)
    assert may_start(claimed_at=t0, lease_until=until, now=t0 + timedelta(minutes=2))
    assert not may_start(claimed_at=t0, lease_until=until, now=t0 + timedelta(minutes=2, seconds=30))
