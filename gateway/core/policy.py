"""Retry and health policy: what a worker does after a send fails or succeeds, without I/O.

Goal: every rule about a failed send in one place, as a pure function the dispatcher's
worker calls and then carries out (the h11 rule: decisions without I/O). The input is
immutable (the error's class from `drivers.at.errors.classify`, the message's state, the
modem's record of recent sends); the output is a `Decision` saying what to do with the
message and with the modem, and the modem's new record.

`classify` is the one table from an error to its class; `error_class` adds the one rule
about repetition: a vague error (`is_vague`: CMS 500, CME 100, plain ERROR, manufacturer
codes) is `retry_same` the first time and `modem_fault` when the modem's previous send
failed too. Everything the class alone does not settle is decided here:

- `permanent`: the message fails; the modem sends fine, so its streak is not counted;
- `retry_same`: back to the queue. Throttling codes also slow this modem down. On the
  message's first attempt with nothing sent it is due again at once, for any modem; once
  parts went out here (or on a later attempt) it waits its backoff, pinned to this modem;
  pinned, from its `RESEND_WHOLE_AFTER`-th attempt on it goes whole to any modem;
- `retry_other_modem`: back to the queue at once, for any modem, whole if parts went out;
  this modem steps aside for a moment. A second failed send in a row makes it a
  `modem_fault` (a SIM that refuses every message, e.g. not registered);
- `modem_fault`: as `retry_other_modem`, and the modem is taken out of service. It is
  reopened after a delay that grows with its faults since it last sent a part, and stays
  `faulty` after reopening until it sends a part again. A modem that still answers (the
  error was a +CMS/+CME code) has its health read once more, so the modem list shows why,
  before it is closed.

A storage failure (`gateway.core.errors.StorageUnavailable`: the database cannot take
writes) is nobody's fault among the modems: the modem stays in service, the worker claims
nothing and tries the database again after `storage_wait`, and a send result it could not
commit is kept and committed then, never sent again.

Between sends the worker polls the modem's health and storage; a poll that fails with an
error code is only logged, any other failure takes the modem out of service.

When the gateway stops (`on_stop`), a worker finishes the message in hand if its parts can
be answered within the stop's grace, and otherwise gives it back between two parts.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from drivers._exceptions import AtError, CmeError, CmsError, CommandError, ModemgateError
from drivers.at.errors import Action, classify, is_vague

__all__ = [
    "THROTTLING_CMS",
    "THROTTLING_CME",
    "RESEND_WHOLE_AFTER",
    "SendRecord",
    "SendFailure",
    "Decision",
    "error_class",
    "is_throttling",
    "on_failure",
    "on_success",
    "answering_state",
    "poll_failure_is_fault",
    "poll_offset",
    "answered_with_code",
    "storage_wait",
    "STORAGE_WAIT_FIRST",
    "STORAGE_WAIT_MAX",
    "on_stop",
    "claim_batch",
    "may_start",
    "must_wait_for_reads",
    "MOST_UNREAD",
    "RECEIVING_AT_ONCE",
    "READ_WAIT_MAX",
    "CLAIM_HORIZON",
    "MOST_CLAIMED",
]

# Errors that mean "slow down" rather than "something is wrong" (27.005 §3.2.5 / 24.011).
THROTTLING_CMS = frozenset({41, 42, 47, 332})
THROTTLING_CME = frozenset({14})  # SIM busy
# A message pinned to a modem by parts sent there, that keeps getting retry_same errors,
# is resent whole elsewhere from this attempt on.
RESEND_WHOLE_AFTER = 3
# Seconds before the database is tried again after a storage failure, doubling per failure
# in a row up to the maximum: soon after a short outage, a write every few seconds in a long one.
STORAGE_WAIT_FIRST = 0.5
STORAGE_WAIT_MAX = 10.0


@dataclass(frozen=True)
class SendRecord:
    """A modem's recent sends, as far as the policy cares."""

    failed_sends: int = 0
    """Sends that failed in a row on this modem (vague errors escalate on it)."""
    send_faults: int = 0
    """Faults from sends since this modem last sent a part (its reopen backoff grows with it)."""

    @property
    def next_streak(self) -> int:
        """The streak a failure now would make (1: the first in a row)."""
        return self.failed_sends + 1


@dataclass(frozen=True)
class SendFailure:
    """One failed attempt to send a message, as the worker saw it."""

    action: Action
    """`error_class(error, record)`."""
    throttling: bool
    """The error asks to slow down (`is_throttling`)."""
    sent_any: bool
    """Parts of this message already went out on this modem (this attempt or before)."""
    attempt: int
    """The message's attempt number, this one included (1 = first)."""
    answering: bool = False
    """The modem answered with an error code: reading its health costs no timeout."""
    gone: bool = False
    """The modem's port is gone: there is nothing left to read or close."""


@dataclass(frozen=True)
class Decision:
    """What to do after a failed send: with the message, then with the modem."""

    action: Action
    """The final class (after the policy's own escalation)."""
    record: SendRecord
    """The modem's record from now on."""
    message: Literal["fail", "retry"]
    resend_whole: bool = False
    """Retry with all parts again (new concatenation reference)."""
    pinned: bool = False
    """Retry on this modem after the backoff; otherwise any modem takes it now."""
    slow_down: bool = False
    """Halve this modem's rate (`Pacer.throttled`)."""
    step_aside: bool = False
    """Pause this worker briefly so another modem claims the message."""
    take_out: bool = False
    """Take the modem out of service; reopen it after the backoff for `record.send_faults`."""
    read_health: bool = False
    """Before closing it, read the modem's health once more (it answers, so this is cheap)."""
    close: bool = False
    """Close the modem so it is reopened (it is answering but broken)."""


def is_throttling(error: AtError) -> bool:
    """Whether an error means "slow down" rather than "something is wrong"."""
    if isinstance(error, CmsError):
        return error.code in THROTTLING_CMS
    if isinstance(error, CmeError):
        return error.code in THROTTLING_CME
    return False


def error_class(error: ModemgateError, record: SendRecord) -> Action:
    """The class of a failed send's error on a modem with `record`: `classify`'s, except
    that a vague error right after another failed send means the modem is at fault."""
    action = classify(error)
    if is_vague(error) and record.failed_sends > 0:
        return Action.MODEM_FAULT
    return action


def on_failure(record: SendRecord, failure: SendFailure) -> Decision:
    """Decide what a failed send means for the message and for the modem."""
    streak = record.next_streak
    action = failure.action
    if action is Action.RETRY_OTHER_MODEM and streak >= 2:
        action = Action.MODEM_FAULT  # this SIM keeps refusing: out of rotation until it sends again
    if action is Action.PERMANENT:
        # The message's fault: this modem sends fine, so the streak stays as it was.
        return Decision(action, record, "fail")
    counted = replace(record, failed_sends=streak)
    if action is Action.RETRY_SAME:
        # Nothing of it went out and this was its first try: any modem may take it now
        # rather than let it wait out the backoff while others idle. Pinned here by parts
        # already sent, it waits for this modem; after a few tries it goes whole (new
        # reference) to whichever modem can send it.
        move_whole = failure.sent_any and failure.attempt >= RESEND_WHOLE_AFTER
        pinned = (failure.sent_any or failure.attempt > 1) and not move_whole
        return Decision(action, counted, "retry", resend_whole=move_whole, pinned=pinned, slow_down=failure.throttling)
    if action is Action.RETRY_OTHER_MODEM:
        # Step aside, so that the message (due at once) goes to another modem rather than
        # straight back to this one.
        return Decision(action, counted, "retry", resend_whole=failure.sent_any, step_aside=True)
    faulted = replace(counted, send_faults=record.send_faults + 1)
    broken_but_there = not failure.gone
    return Decision(
        action,
        faulted,
        "retry",
        resend_whole=failure.sent_any,
        take_out=True,
        read_health=broken_but_there and failure.answering,
        close=broken_but_there,
    )


def on_success(record: SendRecord) -> SendRecord:
    """A part went out: the streak ends and the modem is back in service."""
    return SendRecord()


def answering_state(record: SendRecord) -> Literal["ready", "faulty"]:
    """State of a modem that answers commands: after failed sends it stays faulty until
    it sends a part again (answering is not sending)."""
    return "faulty" if record.send_faults else "ready"


def poll_failure_is_fault(error: AtError) -> bool:
    """Whether a failed health or storage poll takes the modem out of service: an answer
    that says no (+CMS / +CME code or a plain ERROR, which some phones give a listing they
    cannot do) means the modem is there and talking; a timeout, a vanished port or garbage
    says it is not working."""
    return not (answered_with_code(error) or isinstance(error, CommandError))


def poll_offset(modem_id: str, interval: float) -> float:
    """Where in each `interval` this modem's periodic polls fall: a fixed share of it
    drawn from the modem's id, so the polls of a pool opened together spread evenly over
    the interval instead of landing in the same instant (and stay put across restarts)."""
    return interval * (zlib.crc32(modem_id.encode("utf-8")) / 2**32)


def answered_with_code(error: AtError) -> bool:
    """The modem answered with a +CMS / +CME code: it is there and talking."""
    return isinstance(error, (CmsError, CmeError))


def storage_wait(failures: int) -> float:
    """Seconds to wait before trying the database again after `failures` storage failures
    in a row (1 = the first)."""
    return min(STORAGE_WAIT_MAX, STORAGE_WAIT_FIRST * 2 ** max(0, failures - 1))


def on_stop(*, started: bool, remaining: float, wait: float | None, send_time: float) -> Literal["send", "release"]:
    """While the gateway stops (it claims nothing more): send the next part of the message
    in hand, or give the message back to the queue.

    `started`: a part of it already went out (now or in an earlier attempt); `remaining`:
    seconds left of the stop's grace; `wait`: seconds until the modem's pacing allows the
    part (None: its daily cap is spent, which a started message ignores); `send_time`: how
    long an `AT+CMGS` takes on this modem lately.

    A message not started goes back whole, its attempt not counted: another gateway or the
    restart sends it. A started one is finished when its next part can be answered within
    the grace: a handset shows nothing of a message until it has every part. Otherwise it
    goes back between two parts, each sent part's MR committed: only the parts never sent go
    after the restart, through the same modem with the same reference. A part is never
    started that could still be in flight when the grace ends (it would be sent twice).
    """
    if not started:
        return "release"
    return "send" if (wait or 0.0) + send_time <= remaining else "release"


# A worker claims what its modem can send in about this long, in one transaction: a fast
# modem does not pay a claim per message, and a message of a higher priority queued
# meanwhile waits at most this long behind what was claimed before it.
CLAIM_HORIZON = 1.0
MOST_CLAIMED = 16  # messages in one claim, however fast the modem


def claim_batch(*, tokens: float, send_time: float | None) -> int:
    """How many messages a worker claims at once: as many as its modem sends in
    `CLAIM_HORIZON` at its recent `send_time` (seconds per `AT+CMGS`; None: not known
    yet, one), no more than its pacing lets go right now (`tokens`: inf when unpaced),
    at least one and at most `MOST_CLAIMED`."""
    n = 1 if not send_time or send_time <= 0 else int(CLAIM_HORIZON / send_time)
    if not math.isinf(tokens):
        n = min(n, int(tokens))
    return max(1, min(MOST_CLAIMED, n))


def may_start(*, claimed_at: datetime, lease_until: datetime, now: datetime) -> bool:
    """Whether a message claimed in a batch and not started yet may still be started: only
    in the first half of its lease. Later it goes back to the queue unsent, so it can never
    be sent here after its lease lapsed and another modem took it."""
    return now < claimed_at + (lease_until - claimed_at) / 2


# A modem's memory for received messages and status reports has tens of slots; a slot is
# freed only once what it holds is stored. A sender faster than that would fill it (the
# next reports lost or held back by the network), so it waits while this many are unread.
MOST_UNREAD = 8
RECEIVING_AT_ONCE = 8  # status reports of one modem stored concurrently (written in one go)
READ_WAIT_MAX = 2.0  # seconds a part waits for reads at most: a slot that will not free stops nothing


def must_wait_for_reads(backlog: int) -> bool:
    """Whether a worker holds its next part until the modem's unread messages and reports
    (`Modem.backlog`) are fewer: sending never outruns receiving."""
    return backlog >= MOST_UNREAD
