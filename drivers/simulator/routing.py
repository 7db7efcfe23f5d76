"""Message storage and routing of a simulated modem (3GPP TS 27.005 §3.2.2, §3.4.1).

AT+CPMS picks the memories read, written and received into; AT+CNMI says what becomes of a
new message or status report: shown at once (+CMT / +CDS, acknowledged with AT+CNMA after
AT+CSMS=1), or stored and indicated (+CMTI / +CDSI), or held in the TA while <mode> is 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers._exceptions import PduError
from drivers.simulator.storage import MessageStore
from drivers.simulator.textmode import direct_urc
from drivers.sms import decode_pdu

if TYPE_CHECKING:
    from drivers.simulator.modem import SimulatedModem

__all__ = ["SmsRouting", "CNMA_TIMEOUT", "CNMI_BUFFER"]

# Seconds the network waits for AT+CNMA before it gives up on a +CMT / +CDS (the SM-RL
# timer TR2M of 3GPP TS 24.011 §10 runs 12–20 s).
CNMA_TIMEOUT = 15.0
# Indications (+CMTI, +CDSI) a TA keeps while AT+CNMI <mode> is 0.
CNMI_BUFFER = 16


class SmsRouting:
    """The memories of one modem and where new messages go."""

    def __init__(self, modem: SimulatedModem) -> None:
        self._modem = modem
        profile = modem.profile
        self.stores = {
            "SM": MessageStore("SM", profile.sm_capacity),
            "ME": MessageStore("ME", profile.me_capacity),
        }
        self.cpms = ["SM", "SM", "SM"]  # memories read/deleted, written/sent, received into
        # AT+CSMS=1: the +CMT/+CDS waiting for AT+CNMA, and what arrived meanwhile.
        self.awaiting_cnma: tuple[str, str] | None = None
        self._cnma_backlog: list[tuple[str, str]] = []
        self._cnmi_buffer: list[str] = []  # indications held while <mode> is 0

    def reset(self) -> None:
        """Power-up state: default memories, nothing waiting or held."""
        self.cpms = ["SM", "SM", "SM"]
        self.awaiting_cnma = None
        self._cnma_backlog.clear()
        self._cnmi_buffer.clear()

    def store(self, use: int) -> MessageStore:
        """The memory AT+CPMS chose for `use` (0 read/delete, 1 write/send, 2 receive)."""
        return self.stores[self.cpms[use]]

    def deliver(self, pdu: str) -> bool:
        """An SMS-DELIVER from the network; False when it has to wait (memory full)."""
        cnmi = self._modem.s.cnmi
        mt = cnmi[1]
        try:
            cls = decode_pdu(pdu).message_class  # type: ignore[union-attr]
        except PduError:
            cls = None
        routed = (mt == 2 and cls != 2) or (mt == 3 and cls == 3)
        if routed and cnmi[0] != 0:
            self._route_direct("+CMT", pdu)
            return True
        # With <mode>=0 a +CMT cannot be shown: the message is stored instead.
        store = self.store(2)
        index = store.add(pdu, 0)
        if index is None:
            return False
        if mt in (1, 2, 3):
            self._indication(f'+CMTI: "{store.name}",{index}')
        return True

    def status_report(self, pdu: str) -> None:
        """An SMS-STATUS-REPORT from the network, routed per <ds> of AT+CNMI."""
        cnmi = self._modem.s.cnmi
        ds = cnmi[3]
        if ds == 1 and cnmi[0] != 0:
            self._route_direct("+CDS", pdu)
            return
        # <ds>=0 keeps it in memory too, as many modems do; <ds>=2 also says where.
        store = self.store(2)
        index = store.add(pdu, 0)
        if index is not None and ds == 2:
            self._indication(f'+CDSI: "{store.name}",{index}')

    def routing_set(self, mode: int, bfr: int) -> None:
        """AT+CNMI was set: with <mode> 1 or 2, the indications held in the TA are flushed
        to the TE (<bfr>=0) or dropped (1), 27.005 §3.4.1."""
        if mode in (1, 2) and self._cnmi_buffer:
            held, self._cnmi_buffer = self._cnmi_buffer, []
            if bfr == 0:
                for urc in held:
                    self._modem.urc(urc)  # the line is busy: they follow this command's OK

    def acknowledged(self) -> None:
        """AT+CNMA took the +CMT/+CDS shown last; show the next one that waited."""
        self.awaiting_cnma = None
        if self._cnma_backlog:
            tag, pdu = self._cnma_backlog.pop(0)
            self._route_direct(tag, pdu)

    def _indication(self, urc: str) -> None:
        """A +CMTI / +CDSI per <mode> of AT+CNMI: shown (1, 2), or buffered in the TA (0)
        until a later AT+CNMI with <mode> 1 or 2 flushes (<bfr>=0) or drops (1) them."""
        if self._modem.s.cnmi[0] != 0:
            self._modem.urc(urc)
            return
        self._cnmi_buffer.append(urc)
        del self._cnmi_buffer[:-CNMI_BUFFER]  # full: the oldest indications are lost

    def _route_direct(self, tag: str, pdu: str) -> None:
        """+CMT / +CDS straight to the TE. With AT+CSMS=1 each must be acknowledged with
        AT+CNMA before the next is shown (27.005 §3.4.1), so later ones wait."""
        modem = self._modem
        if modem.csms == 1 and self.awaiting_cnma is not None:
            self._cnma_backlog.append((tag, pdu))
            return
        modem.urc(direct_urc(tag, pdu, modem.s.cmgf, modem.s.cscs))
        if modem.csms != 1:
            return
        pending = (tag, pdu)
        self.awaiting_cnma = pending

        def unacknowledged() -> None:
            # 27.005 §3.4.1: no +CNMA in time, so the ME rejects the message to the network
            # and turns direct routing off (<mt> and <ds> to 0); the network delivers again
            # later, and with routing off the message (or report) goes to memory.
            if self.awaiting_cnma is not pending:
                return
            waiting = [pending, *self._cnma_backlog]
            self.awaiting_cnma = None
            self._cnma_backlog.clear()
            modem.s.cnmi[1] = modem.s.cnmi[3] = 0
            for kind, again in waiting:
                if kind == "+CDS":
                    self.status_report(again)
                else:
                    modem.network.inbound_pdu(modem.modem_id, again)

        modem.later(CNMA_TIMEOUT, unacknowledged)
