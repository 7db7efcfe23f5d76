"""AT interpreter of a simulated modem (3GPP TS 27.005 / 27.007, V.250 command syntax).

It answers like a common USB modem (the defaults imitate a Huawei E173 stick with clean
output; `personalities.py` has other makers' models): echo on until `ATE0`, `ERROR` for
commands it does not know, `+CMS`/`+CME` errors per `AT+CMEE`,
PDU and text mode, SIM/ME message storage, `AT+CNMI` routing of new messages and status
reports, and the faults in `faults.py`.

The interpreter is sans-IO: bytes come in through `feed()`, bytes go out through the
`write` callback, and anything that takes time goes through `call_later`. `server.py`
connects it to a pty or a TCP socket.
"""

from __future__ import annotations

import contextlib
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drivers._exceptions import PduError
from drivers.simulator.faults import Faults
from drivers.simulator.network import Network
from drivers.simulator.storage import STAT_NAMES, MessageStore
from drivers.sms import decode_pdu, encode_submit
from drivers.sms.pdu import SmsSubmit

__all__ = ["ModemProfile", "SimulatedModem"]

CTRL_Z = 0x1A
ESC = 0x1B

# 27.005 §3.2.5 / 27.007 §9.2 codes this interpreter answers with.
CMS_ME_FAILURE = 300
CMS_OP_NOT_ALLOWED = 302
CMS_OP_NOT_SUPPORTED = 303
CMS_INVALID_PDU_PARAM = 304
CMS_INVALID_TEXT_PARAM = 305
CMS_SIM_PIN_REQUIRED = 311
CMS_SIM_FAILURE = 313
CMS_SIM_PUK_REQUIRED = 316
CMS_INVALID_INDEX = 321
CMS_SMSC_UNKNOWN = 330
CMS_NO_NETWORK = 331
CMS_NO_CNMA_EXPECTED = 340
CME_SIM_PIN_REQUIRED = 11
CME_SIM_PUK_REQUIRED = 12
CME_SIM_FAILURE = 13
CME_INCORRECT_PASSWORD = 16
CME_OP_NOT_SUPPORTED = 4
CME_INCORRECT_PARAMETERS = 50

# PIN of a SIM whose profile has none, when the `pin_required` fault makes it ask for one.
DEFAULT_PIN = "1234"
# Seconds the network waits for AT+CNMA before it gives up on a +CMT / +CDS (the SM-RL
# timer TR2M of 3GPP TS 24.011 §10 runs 12–20 s).
CNMA_TIMEOUT = 15.0
# Indications (+CMTI, +CDSI) a TA keeps while AT+CNMI <mode> is 0.
CNMI_BUFFER = 16


@dataclass
class ModemProfile:
    """Identity, memory sizes and vendor habits of one simulated modem and its SIM. The
    defaults are a Huawei E173 with clean output; `personalities.py` names other presets."""

    manufacturer: str = "huawei"
    model: str = "E173"
    revision: str = "11.126.85.00.209"
    imei: str = "353142041234560"
    imsi: str = "204081234567890"
    iccid: str = "8931081234567890123"
    number: str = "+31612000001"
    operator: str = "SimNet"
    operator_numeric: str = "20408"
    pin: str | None = None  # with a PIN the SIM starts locked, as after power-on
    puk: str = "12345678"
    rssi: int = 20  # AT+CSQ 0..31
    sm_capacity: int = 30
    me_capacity: int = 100
    mr_start: int = 0
    # Unsolicited lines after a restart (AT+CFUN=1,1); Huawei sticks announce SIM and service.
    boot_urcs: tuple[str, ...] = ("^SIMST:1", "^SRVST:2")
    # ATI lines; empty means Huawei's layout, built from the fields above.
    ati: tuple[str, ...] = ()
    # Final result for a command the firmware does not know (Huawei: COMMAND NOT SUPPORT).
    unsupported_final: str = "ERROR"
    # Command names this model lacks ("+CMMS", "^CURC", "&V"): answered as unknown.
    refuse: frozenset[str] = frozenset()
    # Unsolicited lines sent in turn every `noise_interval` seconds while the line is idle
    # (Huawei ^RSSI, ^DSFLOWRPT, ^MODE); 0 means none.
    noise_urcs: tuple[str, ...] = ()
    noise_interval: float = 0.0
    # Every other periodic line comes inside the next answer instead, right after the echo
    # (or before +CMGS, after the PDU), as Huawei sticks' ^RSSI does.
    noise_in_answers: bool = False
    # AT+CNMI values accepted for <mode>,<mt>,<bm>,<ds>,<bfr>; AT+CNMI=? shows them. A
    # SIM800 lacks <ds>=2 (status reports stored, +CDSI): only routed (+CDS) or none.
    cnmi_choices: tuple[tuple[int, ...], ...] = ((0, 1, 2), (0, 1, 2, 3), (0, 2), (0, 1, 2), (0, 1))

    def __post_init__(self) -> None:
        self.refuse = frozenset(name.upper() for name in self.refuse)
        self.boot_urcs = tuple(self.boot_urcs)
        self.ati = tuple(self.ati)
        self.noise_urcs = tuple(self.noise_urcs)
        if self.noise_interval < 0:
            raise ValueError(f"noise_interval must be >= 0, not {self.noise_interval}")


class _Err(Exception):
    def __init__(self, kind: str, code: int | None = None) -> None:
        self.kind = kind  # "ERROR", "UNSUPPORTED" (unknown or refused command), "CMS" or "CME"
        self.code = code


@dataclass
class _Settings:
    """Volatile settings that ATZ / AT&F bring back to defaults."""

    echo: bool = True
    verbose: bool = True
    quiet: bool = False
    cmee: int = 0
    cmgf: int = 0
    cscs: str = "GSM"
    cnmi: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    creg: int = 0
    cgreg: int = 0
    cereg: int = 0
    csdh: int = 0
    cops_format: int = 0
    csmp: list[int] = field(default_factory=lambda: [17, 167, 0, 0])  # fo, vp, pid, dcs


class SimulatedModem:
    """One simulated modem: AT interpreter + SIM + message storage, attached to a Network."""

    def __init__(
        self,
        modem_id: str,
        network: Network,
        *,
        profile: ModemProfile | None = None,
        call_later: Callable[[float, Callable[[], None]], object],
    ) -> None:
        self.modem_id = modem_id
        self.profile = profile or ModemProfile()
        self.number = self.profile.number
        self.network = network
        self.faults = Faults()
        self._call_later = call_later
        self._outputs: list[Callable[[bytes], None]] = []
        self.on_disconnect_change: Callable[[bool], None] | None = None
        self.s = _Settings()
        self.csca = network.smsc
        self.csms = 0
        self.cmms = 0
        self.cusd = 0
        self.cfun = 1
        self.sim_locked = self.profile.pin is not None
        self._locked_by_fault = False
        self.puk_required = False
        self.pin_attempts = 3
        self.puk_attempts = 10
        self.stores = {
            "SM": MessageStore("SM", self.profile.sm_capacity),
            "ME": MessageStore("ME", self.profile.me_capacity),
        }
        self.cpms = ["SM", "SM", "SM"]
        self._mr = self.profile.mr_start % 256
        self._line = bytearray()
        self._mode = "command"  # command | prompt | busy
        self._prompt_for: tuple[str, Any] | None = None
        self._pending_input = bytearray()
        self._epoch = 0  # bumped by every reset; answers scheduled before it are dropped
        self._urc_queue: list[str] = []
        # AT+CSMS=1: the +CMT/+CDS waiting for AT+CNMA, and what arrived meanwhile.
        self._awaiting_cnma: tuple[str, str] | None = None
        self._cnma_backlog: list[tuple[str, str]] = []
        self._cnmi_buffer: list[str] = []  # indications held while <mode> is 0
        self.commands_seen: deque[str] = deque(maxlen=1000)  # the latest command lines
        self._noise_turn = 0  # periodic lines sent (or carried into an answer)
        self._noise_carry: str | None = None  # the line the next answer carries
        self._closed = False
        network.attach(self)
        if self.profile.noise_urcs and self.profile.noise_interval > 0:
            self._call_later(self.profile.noise_interval, self._noise)

    # --- wiring -------------------------------------------------------------------------

    def attach(self, write: Callable[[bytes], None]) -> None:
        """Send output to `write` too (a modem exposed on a pty and TCP talks on both,
        as a USB modem's tty talks whether or not a program has it open)."""
        if write not in self._outputs:
            self._outputs.append(write)

    def detach(self, write: Callable[[bytes], None]) -> None:
        if write in self._outputs:
            self._outputs.remove(write)

    @property
    def noise_sent(self) -> int:
        """How many periodic unsolicited lines (the profile's noise) went out."""
        return self._noise_turn

    def close(self) -> None:
        """Stop timers that repeat for the modem's lifetime (the noise URCs)."""
        self._closed = True

    def set_faults(self, values: dict[str, Any]) -> None:
        was_down = self.faults.disconnect
        had_pin_fault = self.faults.pin_required
        before = self._creg_stat()
        self.faults.update(values)
        if self.faults.pin_required and not had_pin_fault:
            if self.sim_locked or self.puk_required:
                self.faults.pin_required = False  # already asking: nothing changes
            else:
                self.sim_locked = self._locked_by_fault = True
        self._registration_changed(before)
        if was_down != self.faults.disconnect:
            self._port_changed(self.faults.disconnect)

    def clear_faults(self) -> None:
        was_down = self.faults.disconnect
        before = self._creg_stat()
        self.faults.clear()
        if self._locked_by_fault:
            self.sim_locked = self._locked_by_fault = False
        self._registration_changed(before)
        if was_down:
            self._port_changed(False)

    def power_cycle(self) -> None:
        """Back to power-up state, as after a brown-out or a reset: volatile settings to
        defaults (echo on, PDU mode, no URC routing), the SIM asks for its PIN again if it
        has one, half-typed input and pending answers are gone. Stored messages, the SMSC
        address and the message reference counter (kept on the SIM) survive."""
        self.s = _Settings()
        self.csms = 0
        self.cmms = 0
        self.cusd = 0
        self.cfun = 1
        self.cpms = ["SM", "SM", "SM"]
        if self.profile.pin is not None and not self.puk_required:
            self.sim_locked = True
        self._line.clear()
        self._mode = "command"
        self._prompt_for = None
        self._pending_input.clear()
        self._urc_queue.clear()
        self._awaiting_cnma = None
        self._cnma_backlog.clear()
        self._cnmi_buffer.clear()
        self._epoch += 1

    def _port_changed(self, down: bool) -> None:
        if not down:
            self.power_cycle()  # the modem browned out with its port: back in power-up state
        if self.on_disconnect_change:
            self.on_disconnect_change(down)

    def _registration_changed(self, before: int) -> None:
        """+CREG / +CGREG / +CEREG URCs for a registration change, per each one's <n>."""
        stat = self._creg_stat()
        if stat == before:
            return
        where = ',"0A1B","3799B"' if stat in (1, 5) else ""
        for n, tag in ((self.s.creg, "+CREG"), (self.s.cgreg, "+CGREG"), (self.s.cereg, "+CEREG")):
            if n:
                self._urc(f"{tag}: {stat}{where if n == 2 else ''}")

    # --- bytes in -----------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self.faults.hang or self.faults.disconnect:
            return  # a wedged modem swallows everything
        if self._mode == "busy":
            self._pending_input += data
            return
        for i, byte in enumerate(data):
            if self._mode == "busy":
                self._pending_input += data[i:]
                return
            if self._mode == "prompt":
                self._prompt_byte(byte)
            else:
                self._command_byte(byte)

    def _command_byte(self, byte: int) -> None:
        if self.s.echo:
            self._out(bytes((byte,)))
        if byte == 0x0D:
            line = self._line.decode("latin-1")
            self._line.clear()
            self._run_line(line)
        elif byte in (0x0A, ESC):
            pass  # clients send ESC CR to leave a prompt that may still be open
        elif byte == 0x08:
            del self._line[-1:]
        elif len(self._line) < 1024:
            self._line.append(byte)

    def _prompt_byte(self, byte: int) -> None:
        if byte == CTRL_Z:
            body = self._line.decode("latin-1")
            self._line.clear()
            if self.s.echo:
                self._out(b"\x1a")
            kind, arg = self._prompt_for or ("", None)
            self._prompt_for = None
            self._mode = "busy"
            if kind == "CMGS":
                self._finish_cmgs(arg, body)
            else:
                self._finish_cmgw(arg, body)
        elif byte == ESC:
            self._line.clear()
            self._prompt_for = None
            self._mode = "busy"
            self._final_ok([])  # 27.005 §3.5.1: ESC quits without sending
        else:
            if self.s.echo:
                self._out(bytes((byte,)))
            if len(self._line) < 4096:
                self._line.append(byte)

    # --- command lines ------------------------------------------------------------------

    def _run_line(self, line: str) -> None:
        text = line.strip()
        if text[:2].upper() != "AT":
            return  # not a command line: real modems ignore it
        self.commands_seen.append(text)
        self._mode = "busy"
        info: list[list[str]] = []  # one block per command: V.250 frames each on its own
        try:
            for cmd in _split_commands(text[2:]):
                result = self._execute(cmd)
                if result is _PROMPT:
                    self._respond_prompt(info)
                    return
                if result:
                    info.append(result)
        except _Err as err:
            self._final_error(info, err)
            return
        self._final_ok(info)

    def _execute(self, cmd: str) -> Any:
        upper = cmd.upper()
        if upper and upper[0] in "+^$#%*":
            m = re.match(r"([+^$#%*][A-Z0-9]+)(=\?|\?|=)?(.*)$", cmd, re.IGNORECASE)
            if not m:
                raise _Err("ERROR")
            name, op, rest = m.group(1).upper(), m.group(2) or "", m.group(3)
            form = {"": "exec", "?": "read", "=?": "test", "=": "set"}[op]
            if (form == "read" and rest) or (form == "test" and rest):
                raise _Err("ERROR")
            handler = _EXTENDED.get(name)
            if handler is None or name in self.profile.refuse:
                raise _Err("UNSUPPORTED")
            return handler(self, form, _args(rest) if form == "set" else [])
        return self._basic(upper)

    def _basic(self, cmd: str) -> list[str]:
        if cmd == "":
            return []
        letter, digits = cmd[:1], cmd[1:]
        if cmd.startswith("&"):
            letter, digits = cmd[:2], cmd[2:]
        value = int(digits) if digits.isdigit() else 0
        if digits and not digits.isdigit() and not letter.startswith("S"):
            raise _Err("ERROR")
        if letter.upper() in self.profile.refuse:
            raise _Err("UNSUPPORTED")
        if letter == "E":
            self.s.echo = value == 1
        elif letter == "V":
            self.s.verbose = value == 1
        elif letter == "Q":
            self.s.quiet = value == 1
        elif letter in ("Z", "&F"):
            self.s = _Settings()
        elif letter == "I":
            p = self.profile
            if p.ati:
                return list(p.ati)
            return [
                f"Manufacturer: {p.manufacturer}",
                f"Model: {p.model}",
                f"Revision: {p.revision}",
                f"IMEI: {p.imei}",
                "+GCAP: +CGSM,+DS,+ES",
            ]
        elif letter in ("&W", "&C", "&D", "&K", "X", "L", "M", "&V", "S"):
            if letter == "S" and "?" in cmd:
                return ["013" if cmd.startswith("S3") else "000"]
        else:
            raise _Err("UNSUPPORTED")
        return []

    # --- answers ------------------------------------------------------------------------

    def _respond(self, data: bytes) -> None:
        """Send a complete answer, after the `slow` delay, then accept input again."""
        garbage = self.faults.garbage
        epoch = self._epoch

        def send() -> None:
            if epoch != self._epoch:
                return  # the modem was reset meanwhile: the answer is lost with it
            if self.faults.hang or self.faults.disconnect:
                self._mode = "command"
                return
            carried, self._noise_carry = self._noise_carry, None
            noise = f"\r\n{carried}\r\n".encode("latin-1") if carried else b""
            self._out(garbage + noise + data)
            self._mode = "command"
            self._flush_urcs()
            if self._pending_input:
                pending = bytes(self._pending_input)
                self._pending_input.clear()
                self.feed(pending)

        if self.faults.slow > 0:
            self._call_later(self.faults.slow, send)
        else:
            send()

    def _respond_prompt(self, info: list[list[str]]) -> None:
        prompt = (_info_block(info, self.s.verbose) + "\r\n> ").encode("latin-1")
        self._mode = "prompt"
        self._line.clear()
        epoch = self._epoch

        def send() -> None:
            if epoch == self._epoch:
                self._out(prompt)

        if self.faults.slow > 0:
            self._call_later(self.faults.slow, send)
        else:
            send()

    def _final_ok(self, info: list[list[str]]) -> None:
        self._respond(self._format(info, "OK" if self.s.verbose else "0"))

    def _final_error(self, info: list[list[str]], err: _Err) -> None:
        from drivers.at.errors import describe_cme, describe_cms  # only for AT+CMEE=2

        if err.kind == "CMS" and self.s.cmee:
            final = f"+CMS ERROR: {err.code if self.s.cmee == 1 else describe_cms(err.code or 0)}"
        elif err.kind == "CME" and self.s.cmee:
            final = f"+CME ERROR: {err.code if self.s.cmee == 1 else describe_cme(err.code or 0)}"
        elif err.kind == "UNSUPPORTED" and self.s.verbose:
            final = self.profile.unsupported_final
        else:
            final = "ERROR" if self.s.verbose else "4"
        self._respond(self._format(info, final))

    def _format(self, info: list[list[str]], final: str) -> bytes:
        body = _info_block(info, self.s.verbose)
        if self.s.quiet:
            return body.encode("latin-1")
        if self.s.verbose:
            return (body + f"\r\n{final}\r\n").encode("latin-1")
        return (body + f"{final}\r").encode("latin-1")

    def _out(self, data: bytes) -> None:
        if not self.faults.disconnect:
            for write in self._outputs:
                write(data)

    # --- unsolicited result codes -------------------------------------------------------

    def _urc(self, text: str) -> None:
        if self._mode == "command" and not self.faults.hang:
            self._out(f"\r\n{text}\r\n".encode("latin-1"))
        else:
            self._urc_queue.append(text)  # CNMI mode 2: held while a command runs

    def _noise(self) -> None:
        """One periodic unsolicited line, then the next tick. Sent on an idle line, never
        between `> ` and the PDU or amid a half-typed command; with `noise_in_answers`,
        every other one is carried at the start of the next answer instead."""
        if self._closed:
            return
        idle = self._mode == "command" and not self._line and not self._pending_input
        if idle and not (self.faults.hang or self.faults.disconnect):
            text = self.profile.noise_urcs[self._noise_turn % len(self.profile.noise_urcs)]
            if self.profile.noise_in_answers and self._noise_turn % 2 and self._noise_carry is None:
                self._noise_carry = text
            else:
                self._out(f"\r\n{text}\r\n".encode("latin-1"))
            self._noise_turn += 1
        self._call_later(self.profile.noise_interval, self._noise)

    def _flush_urcs(self) -> None:
        queued, self._urc_queue = self._urc_queue, []
        for text in queued:
            self._out(f"\r\n{text}\r\n".encode("latin-1"))

    # --- network side -------------------------------------------------------------------

    def deliver(self, pdu: str) -> bool:
        """An SMS-DELIVER from the network; False when it has to wait (memory full)."""
        mt = self.s.cnmi[1]
        try:
            cls = decode_pdu(pdu).message_class  # type: ignore[union-attr]
        except PduError:
            cls = None
        routed = (mt == 2 and cls != 2) or (mt == 3 and cls == 3)
        if routed and self.s.cnmi[0] != 0:
            self._route_direct("+CMT", pdu)
            return True
        # With <mode>=0 a +CMT cannot be shown: the message is stored instead.
        store = self.stores[self.cpms[2]]
        index = store.add(pdu, 0)
        if index is None:
            return False
        if mt in (1, 2, 3):
            self._indication(f'+CMTI: "{store.name}",{index}')
        return True

    def _indication(self, urc: str) -> None:
        """A +CMTI / +CDSI per <mode> of AT+CNMI: shown (1, 2), or buffered in the TA (0)
        until a later AT+CNMI with <mode> 1 or 2 flushes (<bfr>=0) or drops (1) them."""
        if self.s.cnmi[0] != 0:
            self._urc(urc)
            return
        self._cnmi_buffer.append(urc)
        del self._cnmi_buffer[:-CNMI_BUFFER]  # full: the oldest indications are lost

    def status_report(self, pdu: str) -> None:
        """An SMS-STATUS-REPORT from the network, routed per <ds> of AT+CNMI."""
        ds = self.s.cnmi[3]
        if ds == 1 and self.s.cnmi[0] != 0:
            self._route_direct("+CDS", pdu)
            return
        # <ds>=0 keeps it in memory too, as many modems do; <ds>=2 also says where.
        store = self.stores[self.cpms[2]]
        index = store.add(pdu, 0)
        if index is not None and ds == 2:
            self._indication(f'+CDSI: "{store.name}",{index}')

    def _route_direct(self, tag: str, pdu: str) -> None:
        """+CMT / +CDS straight to the TE. With AT+CSMS=1 each must be acknowledged with
        AT+CNMA before the next is shown (27.005 §3.4.1), so later ones wait."""
        if self.csms == 1 and self._awaiting_cnma is not None:
            self._cnma_backlog.append((tag, pdu))
            return
        self._urc(self._direct_urc(tag, pdu))
        if self.csms != 1:
            return
        pending = (tag, pdu)
        self._awaiting_cnma = pending
        epoch = self._epoch

        def unacknowledged() -> None:
            # 27.005 §3.4.1: no +CNMA in time, so the ME rejects the message to the network
            # and turns direct routing off (<mt> and <ds> to 0); the network delivers again
            # later, and with routing off the message (or report) goes to memory.
            if epoch != self._epoch or self._awaiting_cnma is not pending:
                return
            waiting = [pending, *self._cnma_backlog]
            self._awaiting_cnma = None
            self._cnma_backlog.clear()
            self.s.cnmi[1] = self.s.cnmi[3] = 0
            for kind, again in waiting:
                if kind == "+CDS":
                    self.status_report(again)
                else:
                    self.network.inbound_pdu(self.modem_id, again)

        self._call_later(CNMA_TIMEOUT, unacknowledged)

    def _acknowledged(self) -> None:
        """AT+CNMA took the +CMT/+CDS shown last; show the next one that waited."""
        self._awaiting_cnma = None
        if self._cnma_backlog:
            tag, pdu = self._cnma_backlog.pop(0)
            self._route_direct(tag, pdu)

    def _direct_urc(self, tag: str, pdu: str) -> str:
        """27.005 §3.4.1 +CMT / +CDS in the current message format.

        PDU mode: `+CMT: ,<length>` / `+CDS: <length>`, then the PDU (SMSC included).
        Text mode: the header fields of +CMGR, then the text (+CDS has no text line).
        """
        if self.s.cmgf == 0:
            length = len(pdu) // 2 - 1 - int(pdu[:2], 16)
            return f"{tag}: ,{length}\r\n{pdu}" if tag == "+CMT" else f"{tag}: {length}\r\n{pdu}"
        try:
            sms = decode_pdu(pdu)
        except PduError:
            return f"{tag}: ,{len(pdu) // 2}\r\n{pdu}"
        head, data = self._text_fields(sms)
        return f"{tag}: {head}" + (f"\r\n{data}" if data is not None else "")

    # --- sending ------------------------------------------------------------------------

    def _finish_cmgs(self, arg: Any, body: str) -> None:
        try:
            sms, _ = self._parse_submit(arg, body)
            self._check_can_send(sms)
        except _Err as err:
            self._final_error([], err)
            return
        self._submit(sms, "+CMGS")

    def _submit(self, sms: SmsSubmit, tag: str) -> None:
        mr = self._mr
        self._mr = (self._mr + 1) % 256  # TP-MR wraps 255 → 0 (23.040 §9.2.3.6)
        self.network.submit(
            self, sms, mr, report=self.faults.report, report_delay=self.faults.report_delay
        )
        info = [[f"{tag}: {mr}"]]
        if self.faults.submit_delay > 0:
            epoch = self._epoch

            def answer() -> None:
                if epoch == self._epoch:
                    self._final_ok(info)

            self._call_later(self.faults.submit_delay, answer)
        else:
            self._final_ok(info)

    def _check_can_send(self, sms: SmsSubmit) -> None:
        if self.sim_locked:
            raise _Err("CMS", CMS_SIM_PIN_REQUIRED)
        if self._creg_stat() not in (1, 5):
            raise _Err("CMS", CMS_NO_NETWORK)
        if not (sms.smsc or self.csca):
            raise _Err("CMS", CMS_SMSC_UNKNOWN)
        injected = self.faults.error_for_send()
        if injected:
            raise _Err(*injected)

    def _parse_submit(self, arg: Any, body: str) -> tuple[SmsSubmit, int]:
        if self.s.cmgf == 1:
            number, toda = arg
            text = body
            try:
                part = self._text_mode_submit(number, toda, text)
            except PduError:
                raise _Err("CMS", CMS_INVALID_TEXT_PARAM) from None
            if len(part) != 1:
                raise _Err("CMS", CMS_INVALID_TEXT_PARAM)
            sms = decode_pdu(part[0].pdu)
            return sms, part[0].tpdu_length  # type: ignore[return-value]
        length: int = arg
        hexpdu = body.strip()
        try:
            raw = bytes.fromhex(hexpdu)
            smsc_len = raw[0] if raw else 0
            if len(raw) - 1 - smsc_len != length:
                raise _Err("CMS", CMS_INVALID_PDU_PARAM)
            sms = decode_pdu(raw)
        except (ValueError, PduError):
            raise _Err("CMS", CMS_INVALID_PDU_PARAM) from None
        if not isinstance(sms, SmsSubmit):
            raise _Err("CMS", CMS_INVALID_PDU_PARAM)
        return sms, length

    def _finish_cmgw(self, arg: Any, body: str) -> None:
        try:
            sms, _ = self._parse_submit(arg, body)
            if self.sim_locked:
                raise _Err("CMS", CMS_SIM_PIN_REQUIRED)
        except _Err as err:
            self._final_error([], err)
            return
        if self.s.cmgf == 1:
            pdu = self._text_mode_submit(sms.number, 145 if sms.number.startswith("+") else 129, sms.text)[0].pdu
        else:
            pdu = body.strip().upper()
        index = self.stores[self.cpms[1]].add(pdu, 2)
        if index is None:
            self._final_error([], _Err("CMS", 322))  # memory full
            return
        self._final_ok([[f"+CMGW: {index}"]])

    # --- helpers for handlers -----------------------------------------------------------

    def _need_sim(self, cms: bool = False) -> None:
        if self.puk_attempts <= 0:
            raise _Err("CMS", CMS_SIM_FAILURE) if cms else _Err("CME", CME_SIM_FAILURE)
        if self.puk_required:
            raise _Err("CMS", CMS_SIM_PUK_REQUIRED) if cms else _Err("CME", CME_SIM_PUK_REQUIRED)
        if self.sim_locked:
            raise _Err("CMS", CMS_SIM_PIN_REQUIRED) if cms else _Err("CME", CME_SIM_PIN_REQUIRED)

    def _pin_code(self) -> str:
        """27.007 §8.3 <code> of AT+CPIN?."""
        if self.puk_required:
            return "SIM PUK"
        return "SIM PIN" if self.sim_locked else "READY"

    def _creg_stat(self) -> int:
        """27.007 §7.2 <stat>: 1 registered (home), 0 not registered and not searching."""
        return 0 if self.faults.no_registration or self.cfun != 1 else 1

    def _text_mode_submit(self, number: str, toda: int, text: str) -> list[Any]:
        """SMS-SUBMIT for a text-mode AT+CMGS/CMGW; AT+CSMP <fo> says whether a status
        report is requested (bit 0x20, TP-SRR)."""
        if toda == 145 and not number.startswith("+"):
            number = "+" + number
        return encode_submit(number, text, status_report=bool(self.s.csmp[0] & 0x20))

    def _te_string(self, value: str) -> str:
        """A string result in the TE character set of AT+CSCS (UCS2: hex of UTF-16BE)."""
        return value.encode("utf-16-be").hex().upper() if self.s.cscs == "UCS2" else value

    def _from_te_string(self, value: str) -> str:
        if self.s.cscs == "UCS2":
            try:
                return bytes.fromhex(value).decode("utf-16-be")
            except ValueError:
                raise _Err("CME", CME_INCORRECT_PARAMETERS) from None
        return value

    def _pdu_listing(self, tag: str, stored: Any, with_index: bool) -> list[str]:
        head = f"{tag}: {stored.index},{stored.stat},,{stored.tpdu_length}" if with_index else (
            f"{tag}: {stored.stat},,{stored.tpdu_length}"
        )
        return [head, stored.pdu]

    def _text_listing(self, tag: str, stored: Any, with_index: bool) -> list[str]:
        """+CMGL / +CMGR entry in text mode (27.005 §3.4.2, §3.4.3)."""
        lead = f"{stored.index}," if with_index else ""
        stat = f'"{STAT_NAMES[stored.stat]}"'
        try:
            sms = decode_pdu(stored.pdu)
        except PduError:
            return [f"{tag}: {lead}{stat}", stored.pdu]
        head, data = self._text_fields(sms)
        return [f"{tag}: {lead}{stat},{head}"] + ([data] if data is not None else [])

    def _text_fields(self, sms: Any) -> tuple[str, str | None]:
        """Text-mode header fields after <stat> (without CSDH extras), and the data line:
        DELIVER `<oa>,[<alpha>],<scts>`; SUBMIT `<da>,[<alpha>]`; STATUS-REPORT
        `<fo>,<mr>,<ra>,<tora>,<scts>,<dt>,<st>` with no data line. UCS-2 and 8-bit data
        are shown as hex, GSM text in the AT+CSCS character set."""
        if sms.type == "SMS-STATUS-REPORT":
            tora = 145 if sms.number.startswith("+") else 129
            return (
                f'6,{sms.message_reference},"{sms.number}",{tora},'
                f'"{_scts(sms.timestamp)}","{_scts(sms.discharge_time)}",{sms.status}',
                None,
            )
        if sms.encoding == "ucs2":
            data = sms.text.encode("utf-16-be").hex().upper()
        elif sms.encoding == "8bit":
            data = sms.text
        else:
            data = self._te_string(sms.text)
        address = self._te_string(sms.number)
        if sms.type == "SMS-SUBMIT":
            return f'"{address}",', data
        return f'"{address}",,"{_scts(sms.timestamp)}"', data


def _scts(when: Any) -> str:
    """27.005 time-string `yy/MM/dd,hh:mm:ss±zz` (zz in quarters of an hour)."""
    return when.strftime("%y/%m/%d,%H:%M:%S") + _tz_suffix(when) if when else ""


def _tz_suffix(when: Any) -> str:
    offset = when.utcoffset()
    quarters = int(offset.total_seconds() // 900) if offset else 0
    return f"{quarters:+03d}"


_PROMPT = object()


def _info_block(info: list[list[str]], verbose: bool = True) -> str:
    """Information text as V.250 §5.7.1 frames it, one block per command of the line.

    Verbose (V1): each block is CR LF, its lines joined by CR LF, CR LF — so the lines of
    one multi-line answer have no blank line between them, and two commands' answers do.
    Numeric (V0): each line is followed by CR LF, no header.
    """
    if not verbose:
        return "".join(line + "\r\n" for block in info for line in block)
    return "".join("\r\n" + "\r\n".join(block) + "\r\n" for block in info if block)


def _split_commands(rest: str) -> list[str]:
    """Split what follows `AT` into single commands (V.250 §5.2: basic commands run
    together, extended ones separated by ';')."""
    out: list[str] = []
    i = 0
    n = len(rest)
    while i < n:
        ch = rest[i]
        if ch in " ;":
            i += 1
            continue
        if ch in "+^$#%*":
            j = i + 1
            quoted = False
            while j < n and (quoted or rest[j] != ";"):
                if rest[j] == '"':
                    quoted = not quoted
                j += 1
            out.append(rest[i:j].strip())
            i = j + 1
            continue
        m = re.match(r"(&?[A-Za-z])(\d*=\d*|\d*\?|\d*)", rest[i:])
        if not m:
            raise _Err("ERROR")
        out.append(m.group(0))
        i += m.end()
    if not out:
        out.append("")
    return out


def _args(rest: str) -> list[str]:
    """Comma-separated parameters; quotes removed, empty ones kept as ''."""
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in rest:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return out


def _int(value: str, lo: int, hi: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise _Err("CME", 50) from None  # incorrect parameters
    if not lo <= n <= hi:
        raise _Err("CME", 50)
    return n


# --- extended command handlers ------------------------------------------------------------
# Each takes (modem, form, args) with form exec|read|test|set and returns info lines,
# or _PROMPT to ask for PDU / text input.


def _identity(attr: str, sim: bool = False) -> Callable[[SimulatedModem, str, list[str]], list[str]]:
    def handler(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
        if form == "test":
            return []
        if form != "exec":
            raise _Err("ERROR")
        if sim:
            m._need_sim()
        return [getattr(m.profile, attr)]

    return handler


def _cmee(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "read":
        return [f"+CMEE: {m.s.cmee}"]
    if form == "test":
        return ["+CMEE: (0-2)"]
    if form == "set":
        m.s.cmee = _int(args[0] or "0", 0, 2)
    return []


def _cpin(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    """27.007 §8.3. Three wrong PINs ask for the PUK; ten wrong PUKs block the SIM for
    good (+CME ERROR: 13, SIM failure, from then on)."""
    if m.puk_attempts <= 0:
        raise _Err("CME", CME_SIM_FAILURE)
    if form == "read":
        return [f"+CPIN: {m._pin_code()}"]
    if form == "test":
        return []
    if form != "set":
        raise _Err("ERROR")
    if m.puk_required:
        if len(args) >= 2 and args[0] == m.profile.puk and args[1]:
            m.puk_required = m.sim_locked = m._locked_by_fault = False
            m.faults.pin_required = False
            m.profile.pin = args[1]
            m.pin_attempts = 3
            m.puk_attempts = 10
            return []
        m.puk_attempts -= 1
        raise _Err("CME", CME_INCORRECT_PASSWORD if m.puk_attempts > 0 else CME_SIM_FAILURE)
    if not m.sim_locked:
        raise _Err("CME", 3)  # operation not allowed: no PIN asked for
    if args[0] == (m.profile.pin if m.profile.pin is not None else DEFAULT_PIN):
        m.sim_locked = m._locked_by_fault = False
        m.faults.pin_required = False
        m.pin_attempts = 3
        return []
    m.pin_attempts -= 1
    if m.pin_attempts <= 0:
        m.puk_required = True
    raise _Err("CME", CME_INCORRECT_PASSWORD)


def _huawei_cpin(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    """Huawei AT^CPIN?: `^CPIN: <code>,[<times>],<puk>,<pin>,<puk2>,<pin2>` (attempts left;
    <times> for the code asked for now, empty when READY)."""
    if form == "test":
        return []
    if form != "read":
        raise _Err("ERROR")
    if m.puk_attempts <= 0:
        raise _Err("CME", CME_SIM_FAILURE)
    code = m._pin_code()
    times = {"SIM PIN": m.pin_attempts, "SIM PUK": m.puk_attempts}.get(code, "")
    return [f"^CPIN: {code},{times},{m.puk_attempts},{m.pin_attempts},10,3"]


def _cfun(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    """27.007 §8.2: 1 full functionality, 0 minimum and 4 flight mode (not registered);
    <rst>=1 restarts the modem first, which comes back in power-up state."""
    if form == "read":
        return [f"+CFUN: {m.cfun}"]
    if form == "test":
        return ["+CFUN: (0,1,4),(0-1)"]
    if form != "set":
        raise _Err("ERROR")
    fun = int(args[0]) if args[0].isdigit() else -1
    if fun not in (0, 1, 4):
        raise _Err("CME", CME_INCORRECT_PARAMETERS)
    rst = _int(args[1] or "0", 0, 1) if len(args) > 1 else 0
    if rst:
        if fun != 1:
            raise _Err("CME", CME_INCORRECT_PARAMETERS)
        epoch = m._epoch

        def restart() -> None:
            if epoch != m._epoch:
                return
            m.power_cycle()
            for urc in m.profile.boot_urcs:
                m._urc(urc)

        m._call_later(m.faults.slow + 0.01, restart)  # after the OK, as a module reboots
        return []
    before = m._creg_stat()
    m.cfun = fun
    m._registration_changed(before)
    return []


def _csq(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "test":
        return ["+CSQ: (0-31,99),(0-7,99)"]
    if form != "exec":
        raise _Err("ERROR")
    rssi = 99 if m._creg_stat() not in (1, 5) else m.profile.rssi
    return [f"+CSQ: {rssi},99"]


def _registration(attr: str, tag: str) -> Callable[[SimulatedModem, str, list[str]], list[str]]:
    def handler(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
        if form == "read":
            n = getattr(m.s, attr)
            stat = m._creg_stat()
            where = ',"0A1B","3799B"' if n == 2 and stat in (1, 5) else ""
            return [f"{tag}: {n},{stat}{where}"]
        if form == "test":
            return [f"{tag}: (0-2)"]
        if form == "set":
            setattr(m.s, attr, _int(args[0] or "0", 0, 2))
            return []
        raise _Err("ERROR")

    return handler


def _cgatt(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "read":
        return [f"+CGATT: {0 if m._creg_stat() not in (1, 5) else 1}"]
    if form == "test":
        return ["+CGATT: (0,1)"]
    return []


def _cops(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    p = m.profile
    if form == "read":
        if m._creg_stat() not in (1, 5):
            return ["+COPS: 0"]
        if m.s.cops_format == 2:
            name = p.operator_numeric
        else:
            name = m._te_string(p.operator if m.s.cops_format == 0 else p.operator[:8])
        return [f'+COPS: 0,{m.s.cops_format},"{name}",0']
    if form == "test":
        return [f'+COPS: (2,"{p.operator}","{p.operator[:8]}","{p.operator_numeric}",0),,(0-4),(0-2)']
    if form == "set":
        mode = _int(args[0] or "0", 0, 4)
        if mode == 3 and len(args) > 1:
            m.s.cops_format = _int(args[1], 0, 2)
    return []


def _cscs(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "read":
        return [f'+CSCS: "{m.s.cscs}"']
    if form == "test":
        return ['+CSCS: ("IRA","GSM","UCS2")']
    if form == "set":
        name = args[0].upper()
        if m.s.cscs == "UCS2" and name not in ("IRA", "GSM", "UCS2"):
            with contextlib.suppress(_Err):
                name = m._from_te_string(name).upper()  # "0047534D" is "GSM" in UCS2
        if name not in ("IRA", "GSM", "UCS2"):
            raise _Err("CME", CME_OP_NOT_SUPPORTED)
        m.s.cscs = name
    return []


def _cmgf(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "read":
        return [f"+CMGF: {m.s.cmgf}"]
    if form == "test":
        return ["+CMGF: (0,1)"]
    if form == "set":
        m.s.cmgf = _int(args[0] or "0", 0, 1)
    return []


def _csms(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "read":
        return [f"+CSMS: {m.csms},1,1,1"]
    if form == "test":
        return ["+CSMS: (0,1)"]
    if form == "set":
        m.csms = _int(args[0], 0, 1)
        return ["+CSMS: 1,1,1"]
    raise _Err("ERROR")


def _cpms(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "test":
        return ['+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")']
    m._need_sim(cms=True)
    if form == "read":
        parts = []
        for name in m.cpms:
            st = m.stores[name]
            parts.append(f'"{name}",{st.used},{st.capacity}')
        return ["+CPMS: " + ",".join(parts)]
    if form != "set":
        raise _Err("ERROR")
    chosen = [a.upper() for a in args if a]
    if not chosen or len(chosen) > 3 or any(c not in m.stores for c in chosen):
        raise _Err("CMS", CMS_OP_NOT_SUPPORTED)
    for i, name in enumerate(chosen):
        m.cpms[i] = name
    return ["+CPMS: " + ",".join(f"{m.stores[n].used},{m.stores[n].capacity}" for n in m.cpms)]


def _choices(values: tuple[int, ...]) -> str:
    """A test-command range as modems print it: (0-3) when contiguous, else (0,2)."""
    if len(values) > 2 and list(values) == list(range(values[0], values[-1] + 1)):
        return f"({values[0]}-{values[-1]})"
    return "(" + ",".join(str(v) for v in values) + ")"


def _cnmi(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "read":
        return ["+CNMI: " + ",".join(str(v) for v in m.s.cnmi)]
    if form == "test":
        return ["+CNMI: " + ",".join(_choices(c) for c in m.profile.cnmi_choices)]
    if form != "set":
        raise _Err("ERROR")
    allowed = m.profile.cnmi_choices
    values = list(m.s.cnmi)
    for i, raw in enumerate(args[:5]):
        if raw == "":
            continue
        try:
            v = int(raw)
        except ValueError:
            raise _Err("CMS", CMS_OP_NOT_SUPPORTED) from None
        if v not in allowed[i]:
            raise _Err("CMS", CMS_OP_NOT_SUPPORTED)
        values[i] = v
    if len(args) > 5:
        raise _Err("CMS", CMS_OP_NOT_SUPPORTED)
    m.s.cnmi = values
    if values[0] in (1, 2) and m._cnmi_buffer:
        # 27.005 §3.4.1 <bfr>: 0 flushes the buffered indications to the TE, 1 clears them.
        held, m._cnmi_buffer = m._cnmi_buffer, []
        if values[4] == 0:
            for urc in held:
                m._urc(urc)  # the line is busy: they follow this command's OK
    return []


def _cmgs(m: SimulatedModem, form: str, args: list[str]) -> Any:
    if form == "test":
        return []
    if form != "set":
        raise _Err("ERROR")
    m._need_sim(cms=True)
    if m.s.cmgf == 1:
        toda = int(args[1]) if len(args) > 1 and args[1].isdigit() else 129
        m._prompt_for = ("CMGS", (args[0], toda))
    else:
        try:
            length = int(args[0])
        except ValueError:
            raise _Err("CMS", CMS_INVALID_PDU_PARAM) from None
        if not 7 <= length <= 164:
            raise _Err("CMS", CMS_INVALID_PDU_PARAM)
        m._prompt_for = ("CMGS", length)
    return _PROMPT


def _cmgw(m: SimulatedModem, form: str, args: list[str]) -> Any:
    if form == "test":
        return []
    m._need_sim(cms=True)
    if m.s.cmgf == 1:
        toda = int(args[1]) if len(args) > 1 and args[1].isdigit() else 129
        m._prompt_for = ("CMGW", (args[0] if args else "", toda))
    else:
        if form != "set":
            raise _Err("CMS", CMS_INVALID_PDU_PARAM)
        try:
            length = int(args[0])
        except ValueError:
            raise _Err("CMS", CMS_INVALID_PDU_PARAM) from None
        m._prompt_for = ("CMGW", length)
    return _PROMPT


def _cmss(m: SimulatedModem, form: str, args: list[str]) -> Any:
    if form == "test":
        return []
    if form != "set":
        raise _Err("ERROR")
    m._need_sim(cms=True)
    store = m.stores[m.cpms[1]]
    index = _int(args[0], 0, 65535)
    stored = store.get(index)
    if stored is None:
        raise _Err("CMS", CMS_INVALID_INDEX)
    sms = decode_pdu(stored.pdu)
    if not isinstance(sms, SmsSubmit):
        raise _Err("CMS", CMS_OP_NOT_ALLOWED)
    m._check_can_send(sms)
    stored.stat = 3
    mr = m._mr
    m._mr = (m._mr + 1) % 256
    m.network.submit(m, sms, mr, report=m.faults.report, report_delay=m.faults.report_delay)
    return [f"+CMSS: {mr}"]


_STAT_BY_NAME = {v: k for k, v in STAT_NAMES.items()}


def _cmgl(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "test":
        return ['+CMGL: ("REC UNREAD","REC READ","STO UNSENT","STO SENT","ALL")'] if m.s.cmgf else [
            "+CMGL: (0-4)"
        ]
    m._need_sim(cms=True)
    raw = args[0] if form == "set" and args and args[0] != "" else ("0" if m.s.cmgf == 0 else "REC UNREAD")
    if m.s.cmgf == 1:
        stat = _STAT_BY_NAME.get(raw.upper())
        if stat is None:
            raise _Err("CMS", CMS_INVALID_TEXT_PARAM)
    else:
        if not raw.isdigit():
            raise _Err("CMS", CMS_OP_NOT_ALLOWED)  # a text-mode "ALL" in PDU mode
        if int(raw) > 4:
            raise _Err("CMS", CMS_INVALID_PDU_PARAM)
        stat = int(raw)
    store = m.stores[m.cpms[0]]
    lines: list[str] = []
    for stored in store.list(stat):
        if m.s.cmgf == 1:
            lines += m._text_listing("+CMGL", stored, True)
        else:
            lines += m._pdu_listing("+CMGL", stored, True)
        if stored.stat == 0:
            stored.stat = 1
    return lines


def _cmgr(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "test":
        return []
    if form != "set":
        raise _Err("ERROR")
    m._need_sim(cms=True)
    store = m.stores[m.cpms[0]]
    try:
        index = int(args[0])
    except ValueError:
        raise _Err("CMS", CMS_INVALID_INDEX) from None
    if not store.valid_index(index):
        raise _Err("CMS", CMS_INVALID_INDEX)
    stored = store.get(index)
    if stored is None:
        return []  # empty slot: OK with nothing, as SIMCom and Huawei answer
    lines = (
        m._text_listing("+CMGR", stored, False)
        if m.s.cmgf == 1
        else m._pdu_listing("+CMGR", stored, False)
    )
    if stored.stat == 0:
        stored.stat = 1
    return lines


def _cmgd(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "test":
        store = m.stores[m.cpms[0]]
        indices = ",".join(str(s.index) for s in store.list(4))
        return [f"+CMGD: ({indices}),(0-4)"]
    if form != "set":
        raise _Err("ERROR")
    m._need_sim(cms=True)
    store = m.stores[m.cpms[0]]
    try:
        index = int(args[0]) if args[0] else 0
        flag = int(args[1]) if len(args) > 1 and args[1] else 0
    except ValueError:
        raise _Err("CMS", CMS_INVALID_INDEX) from None
    if not 0 <= flag <= 4:
        raise _Err("CMS", CMS_OP_NOT_SUPPORTED)
    if flag:
        store.delete_by_flag(flag)
    elif not store.valid_index(index):
        raise _Err("CMS", CMS_INVALID_INDEX)
    else:
        store.delete(index)
    m.network.retry_undelivered(m.modem_id)
    return []


def _csca(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "test":
        return []
    m._need_sim(cms=True)
    if form == "read":
        toa = 145 if m.csca.startswith("+") else 129
        return [f'+CSCA: "{m._te_string(m.csca)}",{toa}']
    if form == "set":
        number = m._from_te_string(args[0])
        if len(args) > 1 and args[1] == "145" and not number.startswith("+"):
            number = "+" + number
        m.csca = number
        return []
    raise _Err("ERROR")


def _cnma(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "test":
        return ["+CNMA: (0-2)"]
    if m._awaiting_cnma is None:
        raise _Err("CMS", CMS_NO_CNMA_EXPECTED)
    m._acknowledged()
    return []


def _cmms(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "read":
        return [f"+CMMS: {m.cmms}"]
    if form == "test":
        return ["+CMMS: (0-2)"]
    if form == "set":
        m.cmms = _int(args[0] or "0", 0, 2)
    return []


def _cnum(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "test":
        return []
    m._need_sim()
    n = m.profile.number
    return [f'+CNUM: "","{m._te_string(n)}",{145 if n.startswith("+") else 129}']


def _cclk(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "read":
        now = m.network._now()
        return [f'+CCLK: "{now.strftime("%y/%m/%d,%H:%M:%S")}{_tz_suffix(now)}"']
    return []


def _ok(*reads: str) -> Callable[[SimulatedModem, str, list[str]], list[str]]:
    """A setting we accept without modelling it; `reads` answers its read form."""

    def handler(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
        if form == "read":
            return list(reads)
        return []

    return handler


def _gcap(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    return ["+GCAP: +CGSM,+DS,+ES"]


def _csdh(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    if form == "read":
        return [f"+CSDH: {m.s.csdh}"]
    if form == "set":
        m.s.csdh = _int(args[0] or "0", 0, 1)
    return []


def _csmp(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    """27.005 §3.3.2 text-mode parameters <fo>,<vp>,<pid>,<dcs>; <fo> bit 0x20 asks for
    status reports on messages sent in text mode."""
    if form == "read":
        return ["+CSMP: " + ",".join(str(v) for v in m.s.csmp)]
    if form == "test":
        return []
    if form == "set":
        values = list(m.s.csmp)
        for i, raw in enumerate(args[:4]):
            if raw:
                values[i] = _int(raw, 0, 255)
        m.s.csmp = values
    return []


def _clac(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    """27.007 §8.37: the commands this modem knows, one per line (python-gsmmodem reads it)."""
    if form == "test":
        return []
    if form != "exec":
        raise _Err("ERROR")
    return ["AT" + name for name in _EXTENDED if name not in m.profile.refuse]


def _cusd(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    """27.007 §7.15: presentation of USSD results on or off; sending USSD is not simulated."""
    if form == "read":
        return [f"+CUSD: {m.cusd}"]
    if form == "test":
        return ["+CUSD: (0-2)"]
    if form != "set":
        raise _Err("ERROR")
    if len(args) > 1 and args[1]:
        raise _Err("CME", CME_OP_NOT_SUPPORTED)
    n = _int(args[0] or "0", 0, 2)
    if n in (0, 1):
        m.cusd = n
    return []


def _ccid(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
    m._need_sim()
    return [f"^ICCID: {m.profile.iccid}" if m.profile.manufacturer == "huawei" else m.profile.iccid]


_EXTENDED: dict[str, Callable[[SimulatedModem, str, list[str]], Any]] = {
    "+CGMI": _identity("manufacturer"),
    "+GMI": _identity("manufacturer"),
    "+CGMM": _identity("model"),
    "+GMM": _identity("model"),
    "+CGMR": _identity("revision"),
    "+GMR": _identity("revision"),
    "+CGSN": _identity("imei"),
    "+GSN": _identity("imei"),
    "+CIMI": _identity("imsi", sim=True),
    "^ICCID": _ccid,
    "+GCAP": _gcap,
    "+CMEE": _cmee,
    "+CPIN": _cpin,
    "^CPIN": _huawei_cpin,
    "+CFUN": _cfun,
    "+CSQ": _csq,
    "+CREG": _registration("creg", "+CREG"),
    "+CGREG": _registration("cgreg", "+CGREG"),
    "+CEREG": _registration("cereg", "+CEREG"),
    "+CGATT": _cgatt,
    "+COPS": _cops,
    "+CSCS": _cscs,
    "+CMGF": _cmgf,
    "+CSMS": _csms,
    "+CPMS": _cpms,
    "+CNMI": _cnmi,
    "+CMGS": _cmgs,
    "+CMGW": _cmgw,
    "+CMSS": _cmss,
    "+CMGL": _cmgl,
    "+CMGR": _cmgr,
    "+CMGD": _cmgd,
    "+CSCA": _csca,
    "+CNMA": _cnma,
    "+CMMS": _cmms,
    "+CNUM": _cnum,
    "+CCLK": _cclk,
    "+CSDH": _csdh,
    "+CSMP": _csmp,
    "+CSCB": _ok("+CSCB: 0,\"\",\"\""),
    "+CLIP": _ok("+CLIP: 0,1"),
    "+CRC": _ok("+CRC: 0"),
    "+CMOD": _ok("+CMOD: 0"),
    "^CURC": _ok("^CURC: 1"),
    "^PORTSEL": _ok("^PORTSEL: 0"),  # Huawei: which port carries URCs; gammu sets it
    "+CHUP": _ok(),
    "+CVHU": _ok("+CVHU: 0"),
    "+CLAC": _clac,
    "+CUSD": _cusd,
}
