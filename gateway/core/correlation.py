"""Which sent part a delivery report belongs to (pure; the database glue is in reports.py).

A status report names the message reference (TP-MR), the recipient and the time the SMSC
received the part (TP-SCTS). The MR is one octet the modem counts up, so on a busy modem
it repeats every 256 parts: matching on the MR alone is how other gateways attach reports
to the wrong message. Here a report matches a part only if

- the part went out through the same modem with the same MR,
- the recipients agree (compared on their trailing national digits, since networks write
  the number back in national or international form), and
- the part was submitted within `window` of the report's SCTS (or, with no usable SCTS,
  before the report arrived);

and among several such parts the one submitted closest to the SCTS wins (without an SCTS,
parts that have no final report yet come first). Anything else stays unmatched and is stored as such.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

__all__ = ["Candidate", "ReportKey", "pick_part", "same_number", "DEFAULT_WINDOW"]

DEFAULT_WINDOW = timedelta(hours=6)
_COMPARED_DIGITS = 9  # long enough to be unique in practice, short enough to drop prefixes

C = TypeVar("C", bound="Candidate")


@dataclass(frozen=True)
class Candidate:
    """A sent part that could own a report."""

    part_id: int | str
    modem_id: str
    message_reference: int
    recipient: str
    submitted_at: datetime
    has_final_report: bool = False


@dataclass(frozen=True)
class ReportKey:
    modem_id: str
    message_reference: int
    recipient: str
    scts: datetime | None  # when the SMSC received the original part
    received_at: datetime  # when the report reached us


def same_number(a: str, b: str) -> bool:
    """True when two renderings of a phone number are the same subscriber."""
    da = "".join(ch for ch in a if ch.isdigit())
    db = "".join(ch for ch in b if ch.isdigit())
    if not da or not db:
        return a.strip().lower() == b.strip().lower()  # alphanumeric or empty: exact
    n = min(_COMPARED_DIGITS, len(da), len(db))
    return da[-n:] == db[-n:]


def pick_part(report: ReportKey, candidates: Iterable[C], *, window: timedelta = DEFAULT_WINDOW) -> C | None:
    """The part `report` belongs to, or None when no part fits."""
    anchor = report.scts if report.scts is not None else report.received_at
    best: C | None = None
    best_key: tuple[bool, float] | None = None
    for cand in candidates:
        if cand.modem_id != report.modem_id or cand.message_reference != report.message_reference:
            continue
        if not same_number(cand.recipient, report.recipient):
            continue
        distance = abs((cand.submitted_at - anchor).total_seconds())
        if distance > window.total_seconds():
            continue
        if report.scts is None and cand.submitted_at > report.received_at:
            continue  # without an SCTS, a report cannot be about a part sent after it arrived
        # With an SCTS, time decides (a repeated report for a finished part stays with
        # it); without one, a part still waiting for its report is the likelier owner.
        key = (False, distance) if report.scts is not None else (cand.has_final_report, distance)
        if best_key is None or key < best_key:
            best, best_key = cand, key
    return best
