"""A simulated operator: SMSC, subscribers, delivery latency, status reports, inbound SMS.

Modems attach to the network with their own number. What they submit is decoded,
journalled and, if a status report was requested, answered with one after the configured
delay and outcome. Inbound messages are built as SMS-DELIVER PDUs (split and concatenated
like a real SMSC would) and handed to the addressed modem. Messages between two simulated
modems are delivered to the recipient modem too.

Time goes through an injected `call_later`, so tests run the network at any speed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Protocol

from drivers.sms import decode_pdu, encode_deliver, encode_status_report
from drivers.sms.pdu import SmsSubmit

__all__ = ["Network", "Received", "Attachment", "REPORT_STATUS"]

# TP-ST values used for each outcome (3GPP TS 23.040 §9.2.3.15).
REPORT_STATUS = {
    "delivered": 0x00,  # short message received by the SME
    "temporary": 0x30,  # temporary error, SC still trying: SME busy
    "permanent": 0x41,  # permanent error: incompatible destination
}


class Attachment(Protocol):
    """What the network needs from a modem attached to it."""

    modem_id: str
    number: str

    def deliver(self, pdu: str) -> bool:
        """Hand over an SMS-DELIVER PDU; False when the modem cannot take it now."""

    def status_report(self, pdu: str) -> None:
        """Hand over an SMS-STATUS-REPORT PDU."""


@dataclass
class Received:
    """One part the network accepted from a modem, as the journal records it."""

    time: str
    modem: str
    sender: str
    recipient: str
    text: str
    encoding: str
    concat: dict[str, int] | None
    message_reference: int
    status_report_request: bool
    smsc: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Pending:
    to: str
    pdus: list[str] = field(default_factory=list)


class Network:
    """The operator all simulated modems of one process share."""

    def __init__(
        self,
        call_later: Callable[[float, Callable[[], None]], object],
        *,
        smsc: str = "+31653131313",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        journal: IO[str] | None = None,
    ) -> None:
        self.smsc = smsc
        self._call_later = call_later
        self._now = now
        self._journal = journal
        self._modems: dict[str, Attachment] = {}
        self._by_number: dict[str, Attachment] = {}
        self.received: list[Received] = []
        self.reports_sent: list[dict[str, Any]] = []
        self._undelivered: list[tuple[str, str]] = []  # (modem id, pdu) waiting for space
        self._ref = 0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The network's time (AT+CCLK shows it)."""
        return self._now()

    # --- attachment ---------------------------------------------------------------------

    def attach(self, modem: Attachment) -> None:
        self._modems[modem.modem_id] = modem
        self._by_number[_digits(modem.number)] = modem

    def modem(self, modem_id: str) -> Attachment:
        try:
            return self._modems[modem_id]
        except KeyError:
            raise KeyError(f"no simulated modem {modem_id!r}; have {', '.join(self._modems)}") from None

    @property
    def modem_ids(self) -> list[str]:
        return list(self._modems)

    # --- mobile originated --------------------------------------------------------------

    def submit(self, modem: Attachment, sms: SmsSubmit, mr: int, *, report: str, report_delay: float) -> None:
        """Accept one SMS-SUBMIT part from `modem` (the modem already assigned `mr`)."""
        entry = Received(
            time=self._now().isoformat(),
            modem=modem.modem_id,
            sender=modem.number,
            recipient=sms.number,
            text=sms.text,
            encoding=sms.encoding,
            concat=sms.concat.to_dict() if sms.concat else None,
            message_reference=mr,
            status_report_request=sms.status_report_request,
            smsc=sms.smsc or self.smsc,
        )
        with self._lock:
            self.received.append(entry)
            if self._journal is not None:
                self._journal.write(json.dumps(entry.to_dict(), ensure_ascii=False) + "\n")
                self._journal.flush()
        submitted = self._now()
        target = self._by_number.get(_digits(sms.number))
        if target is not None and target is not modem:
            self._forward(modem.number, target, sms)
        if sms.status_report_request and report != "none":
            status = REPORT_STATUS[report]

            def send_report() -> None:
                pdu = encode_status_report(
                    mr,
                    sms.number,
                    timestamp=submitted,
                    discharge_time=self._now(),
                    status=status,
                    smsc=self.smsc,
                )
                self.reports_sent.append({"modem": modem.modem_id, "mr": mr, "status": status})
                modem.status_report(pdu)

            self._call_later(report_delay, send_report)

    def _forward(self, sender: str, target: Attachment, sms: SmsSubmit) -> None:
        # Re-encode part by part so concatenation info survives hop to hop.
        for pdu in encode_deliver(
            sender,
            sms.text if sms.encoding != "8bit" else "",
            timestamp=self._now(),
            smsc=self.smsc,
            encoding=sms.encoding if sms.encoding != "8bit" else "auto",
        ):
            self._hand_over(target, pdu)

    # --- mobile terminated --------------------------------------------------------------

    def inbound(self, modem_id: str, sender: str, text: str, *, encoding: str = "auto", ref16: bool = False) -> int:
        """Send `text` from `sender` to a modem; returns the number of parts."""
        target = self.modem(modem_id)
        self._ref = (self._ref + 1) % 256
        pdus = encode_deliver(
            sender,
            text,
            timestamp=self._now(),
            smsc=self.smsc,
            encoding=encoding,  # type: ignore[arg-type]
            ref=self._ref if not ref16 else self._ref * 256 + 7,
            ref16=ref16,
        )
        for pdu in pdus:
            self._hand_over(target, pdu)
        return len(pdus)

    def inbound_pdu(self, modem_id: str, pdu: str) -> None:
        """Hand a ready SMS-DELIVER PDU to a modem (for malformed or exotic messages)."""
        self._hand_over(self.modem(modem_id), pdu)

    def _hand_over(self, target: Attachment, pdu: str) -> None:
        if not target.deliver(pdu):
            # Memory full: a real SMSC keeps the message and retries later.
            self._undelivered.append((target.modem_id, pdu))

    def retry_undelivered(self, modem_id: str) -> None:
        """Called when a modem frees memory: try the held messages again, in order."""
        waiting = [p for m, p in self._undelivered if m == modem_id]
        self._undelivered = [(m, p) for m, p in self._undelivered if m != modem_id]
        for pdu in waiting:
            self._hand_over(self.modem(modem_id), pdu)

    # --- views --------------------------------------------------------------------------

    def messages(self) -> list[dict[str, Any]]:
        """What the network received, concatenated parts joined: one entry per message."""
        out: list[dict[str, Any]] = []
        groups: dict[tuple[str, str, int, int], dict[int, Received]] = {}
        for r in self.received:
            if r.concat is None:
                out.append({"modem": r.modem, "recipient": r.recipient, "text": r.text, "parts": 1})
                continue
            key = (r.modem, r.recipient, r.concat["ref"], r.concat["total"])
            parts = groups.setdefault(key, {})
            parts[r.concat["seq"]] = r
            if len(parts) == r.concat["total"]:
                del groups[key]
                text = "".join(parts[i].text for i in sorted(parts))
                out.append({"modem": r.modem, "recipient": r.recipient, "text": text, "parts": len(parts)})
        return out


def _digits(number: str) -> str:
    return number.lstrip("+")


def decode_submit(pdu: str) -> SmsSubmit | None:
    sms = decode_pdu(pdu)
    return sms if isinstance(sms, SmsSubmit) else None
