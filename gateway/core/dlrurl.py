"""Kannel-style delivery-report URLs: which events a `dlr-mask` asks for, and filling in a
`dlr-url` template's escape codes. Pure: no storage, no I/O.

A client of Kannel's `sendsms` interface names a URL with `%` escapes and a bit mask of the
events it wants; for each such event the gateway fetches the URL (GET) with the escapes
replaced. The bits and escapes are Kannel's (its user guide, "SMS Push" and "Parameters
(Escape Codes)"); what each one means here is in docs/deployment.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

__all__ = [
    "DELIVERED",
    "UNDELIVERED",
    "BUFFERED",
    "SUBMITTED",
    "REJECTED",
    "ALL_EVENTS",
    "DlrEvent",
    "event_for_status",
    "wanted",
    "expand",
]

# Kannel's dlr-mask bits.
DELIVERED = 1  # delivered to the phone (a successful status report)
UNDELIVERED = 2  # not delivered to the phone (a failed status report, or expired after sending)
BUFFERED = 4  # queued on the SMSC (a status report saying it is still trying)
SUBMITTED = 8  # accepted by the SMSC (+CMGS answered for every part)
REJECTED = 16  # not accepted by the SMSC (failed, or expired, before it went out)
ALL_EVENTS = DELIVERED | UNDELIVERED | BUFFERED | SUBMITTED | REJECTED


@dataclass(frozen=True)
class DlrEvent:
    """One event of a message, with what its URL is filled in with."""

    kind: int  # one of the bits above
    reply: str  # %A: the SMSC's answer, in words


def event_for_status(status: str, *, sent_before: bool, error: str | None = None) -> DlrEvent | None:
    """The event a message's new status stands for, if any. `sent_before`: whether the
    SMSC had accepted it (so a later failure is a failed delivery, not a rejection)."""
    if status == "sent":
        return DlrEvent(SUBMITTED, "ACK/")
    if status == "delivered":
        return DlrEvent(DELIVERED, "stat:DELIVRD")
    if status in ("failed", "expired"):
        if sent_before:
            return DlrEvent(UNDELIVERED, "stat:EXPIRED" if status == "expired" else "stat:UNDELIV")
        return DlrEvent(REJECTED, f"NACK/{error or status}")
    return None


def wanted(mask: int, event: DlrEvent) -> bool:
    return bool(mask & event.kind)


def expand(template: str, values: Mapping[str, str]) -> str:
    """`template` with each `%x` escape whose letter is in `values` replaced by its value,
    percent-encoded (Kannel's `%S` alone is left unencoded, as there). `%%` is one `%`;
    an escape with no value here is left as it is, so a URL that is already
    percent-encoded elsewhere (`%2F`) passes unchanged."""
    out: list[str] = []
    i = 0
    while i < len(template):
        ch = template[i]
        if ch == "%" and i + 1 < len(template):
            code = template[i + 1]
            if code == "%":
                out.append("%")
                i += 2
                continue
            if code in values:
                value = values[code]
                out.append(value if code == "S" else quote(value, safe=""))
                i += 2
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def escape_values(
    *,
    event: DlrEvent,
    recipient: str,
    sender: str,
    text: str,
    modem: str,
    account: str,
    message_id: str,
    message_reference: int | None,
    at: datetime,
) -> dict[str, str]:
    """The value of each supported escape for one event (see docs/deployment.md)."""
    return {
        "d": str(event.kind),
        "A": event.reply,
        "p": recipient,  # a report's sender is the phone the message went to
        "P": sender,
        "q": _plus(recipient),
        "Q": _plus(sender),
        "i": modem,
        "n": account,
        "I": message_id,
        "F": "" if message_reference is None else str(message_reference),
        "T": str(int(at.timestamp())),
        "t": at.strftime("%Y-%m-%d %H:%M:%S"),
        "a": text,
        "b": text,
        "c": "0",
    }


def _plus(number: str) -> str:
    return "+" + number[2:] if number.startswith("00") else number


__all__ += ["escape_values"]
