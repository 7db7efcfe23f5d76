"""Sans-IO AT command protocol (ITU-T V.250, 3GPP TS 27.007 / 27.005).

Goals
- No I/O, no asyncio, no timers. `AtProtocol.send()` returns the bytes to
  write; `AtProtocol.feed()` takes the bytes read and returns events. The async
  modem driver and the simulator are thin loops around it; timeouts are theirs.
- Split-invariant: bytes fed in any chunking give exactly the events they give
  fed whole. Every decision is taken on a complete line, except the ``> ``
  prompt (which has no line ending), decided on its two bytes: a lone ``>``
  waits for the next byte.
- Total: any bytes give events. Bytes that are not a line of text come out as
  `Garbage`, so a noisy or rebooting modem never stops the parser. Only misuse
  of the API (a second command while one is pending, a PDU without a prompt,
  arguments of the wrong type) raises, and only `AtProtocolError`.
- Bounded: at most `MAX_LINE` bytes of an unfinished line are kept. A line that
  reaches `MAX_LINE` bytes is reported as `Garbage` in pieces of `MAX_LINE`
  bytes and the parser carries on at the next line ending. We report instead of
  raising so that the events before it in the same feed are not lost.

Plan
- Bytes go into one buffer. Lines end at CR, LF, Ctrl-Z (the end of an echoed
  PDU) or ESC; empty lines are skipped, so CRLF, bare CR and bare LF all work.
  Each feed finds line ends with one regex search per line and trims the
  buffer once, so it costs O(bytes fed + MAX_LINE).
- A complete line is classified against the pending command, in this order:
  body of a held +CMT/+CDS/+CBM header; continuation of a +CUSD whose quotes
  are open; echo of the command or of the PDU; final result (ends the command);
  the line under a +CMGL/+CMGR header (the message, whatever it looks like);
  known URC (see `URC_NAMES`) unless the command is asking for that very name
  (``AT+CREG?`` makes ``+CREG: 0,1`` Info, while ``+CREG: 1`` during ``AT+CSQ``
  or ``AT+CREG=2`` is a URC); a line shaped like a vendor's unsolicited code
  (``^NAME…``, or ``+NAME:`` / ``#NAME:`` … when the command is an extended one
  whose own answer does not carry that name) is a URC too, so Huawei's
  ``^NWTIME`` inside an ``AT+CPMS?`` or an ``AT+CGMI`` answer is never taken
  for its value; anything else is Info of the pending command, or a URC when
  no command is pending.
- Text is UTF-8 where it decodes, else Latin-1 (lossless: the caller can get
  the bytes back). Result codes are expected in verbose form (ATV1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from drivers._exceptions import AtProtocolError
from drivers.at.errors import cme_code_from_text, cms_code_from_text
from drivers.at.events import Echo, Event, Final, FinalKind, Garbage, Info, Prompt, Urc

__all__ = ["AtProtocol", "MAX_LINE", "URC_NAMES", "split_args", "answer_args"]

MAX_LINE = 4096
"""Longest line kept, in bytes. A +CMGL line with the longest PDU is under 400."""

URC_NAMES: frozenset[str] = frozenset(
    {
        # 3GPP TS 27.005 §3.4.1: new message indications (SMS, status reports, CBM)
        "+CMTI",
        "+CMT",
        "+CDSI",
        "+CDS",
        "+CBM",
        "+CBMI",
        # 3GPP TS 27.007: calls, registration, indicators, USSD, power, time zone
        "RING",
        "+CRING",
        "+CLIP",
        "+CCWA",
        "+CSSI",
        "+CSSU",
        "+CREG",
        "+CGREG",
        "+CEREG",
        "+C5GREG",
        "+CGEV",
        "+CIEV",
        "+CUSD",
        "+CPIN",
        "+CSQ",  # SIMCom AT+AUTOCSQ, Qualcomm-based firmware
        "+CFUN",
        "+CTZV",
        "+CTZE",
        # Huawei
        "^RSSI",
        "^BOOT",
        "^MODE",
        "^SRVST",
        "^SIMST",
        "^HCSQ",
        "^DSFLOWRPT",
        "^CEND",
        "^ORIG",
        "^CONF",
        "^CONN",
        "^STIN",
        "^SYSSTART",
        "^NDISSTAT",
        # Quectel
        "RDY",
        "+QIND",
        "+QUSIM",
        "POWERED DOWN",
        # SIMCom
        "CALL READY",
        "SMS READY",
        "SMS DONE",
        "PB DONE",
        "+STIN",
        "*PSUTTZ",
        "DST",
        "NORMAL POWER DOWN",
        "UNDER-VOLTAGE POWER DOWN",
        "UNDER-VOLTAGE WARNNING",  # sic, as the firmware spells it
        "OVER-VOLTAGE POWER DOWN",
        "OVER-VOLTAGE WARNNING",
        # MediaTek / others
        "*EMRDY",
        "+PBREADY",
        "+SIM READY",
        # Wavecom / Sierra
        "+WIND",
        # Huawei network time (gammu's AT test data has it inside an AT+CPMS answer)
        "^NWTIME",
    }
)
"""Line names (text before ':' or the whole line, upper case) that are
unsolicited even in the middle of a response."""

# Commands that answer with the '> ' prompt, 27.005 §3.5.1, §3.5.3, §3.5.5.
_PROMPT_COMMANDS = frozenset({"+CMGS", "+CMGW", "+CMGC"})

_TERMINATORS = re.compile(rb"[\r\n\x1a\x1b]")
_NOT_TERMINATOR = re.compile(rb"[^\r\n\x1a\x1b]")
_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_CM_ERROR = re.compile(r"\+CM([SE])\s*ERROR\s*(?::\s*(.*))?", re.IGNORECASE)
_CONNECT = re.compile(r"CONNECT(?:\s.*)?", re.IGNORECASE)
_EXTENDED_NAME = re.compile(r"[+^$%*#!&][A-Za-z][A-Za-z0-9_]*")
# A line that names itself the way unsolicited codes do: `+CREG: 1`, `^BOOT:…`, `+PBREADY`.
_URC_SHAPE = re.compile(r"([+^$%*#!&][A-Za-z][A-Za-z0-9_]*)\s*(?::|$)")
# Answers that carry another command's name: V.250 +GMI is 27.007 +CGMI and so on.
_ALIASES = {"+GMI": "+CGMI", "+GMM": "+CGMM", "+GMR": "+CGMR", "+GSN": "+CGSN"}
_ALIASES.update({v: k for k, v in list(_ALIASES.items())})
# Listing headers whose next line is the message itself (27.005 §3.4.2, §3.4.3).
_BODY_HEADERS = frozenset({"+CMGL", "+CMGR"})
# +CMT: [<alpha>],<length>  (27.005 §3.4.1, PDU mode)
_CMT_PDU_HEADER = re.compile(r'(?:(?:"[^"]*"|[^,"]*)\s*,\s*)?\d+', re.ASCII)
_LENGTH_ONLY = re.compile(r"\d+", re.ASCII)

_FINAL_WORDS: dict[str, FinalKind] = {
    "OK": "OK",
    "ERROR": "ERROR",
    "NO CARRIER": "NO CARRIER",
    "BUSY": "BUSY",
    "NO ANSWER": "NO ANSWER",
    "NO DIALTONE": "NO DIALTONE",
    "NO DIAL TONE": "NO DIALTONE",
    # Huawei answers unknown commands and bad arguments with these.
    "COMMAND NOT SUPPORT": "ERROR",
    "TOO MANY PARAMETERS": "ERROR",
}


def split_args(args: str) -> list[str]:
    """Split result-code parameters at commas outside double quotes and unquote.

    ``'"SM",3'`` -> ``['SM', '3']``; ``',23'`` -> ``['', '23']``; ``''`` -> ``[]``.
    """
    if not args.strip():
        return []
    return [field.replace('"', "").strip() for field in _split_outside_quotes(args, ",")]


def answer_args(lines: Iterable[str], name: str) -> str | None:
    """The parameters of the first line named `name` (``"+CPMS"``), stripped, or None.

    ``answer_args(['+CPMS: "SM",0,30'], "+CPMS")`` -> ``'"SM",0,30'``. Other lines (a
    vendor's line that came inside the answer) are passed over.
    """
    for line in lines:
        head, sep, args = line.partition(":")
        if sep and head.strip().upper() == name.upper():
            return args.strip()
    return None


class AtProtocol:
    """State of one AT conversation: at most one command pending at a time.

    `extra_urcs` adds line names (like ``+ZUSIMR``) to `URC_NAMES` for a modem
    that has URCs of its own.
    """

    # The pending command's state; set by reset() and _clear_command().
    _command: str | None
    _echo: str | None
    _pdu_echo: str | None
    _asking: frozenset[str]
    _own: frozenset[str]
    _reading: bool
    _body_next: bool

    def __init__(self, *, extra_urcs: Iterable[str] = ()) -> None:
        self._urc_names = URC_NAMES | {name.strip().upper() for name in extra_urcs}
        self.reset()

    # -- public -----------------------------------------------------------------

    @property
    def pending(self) -> str | None:
        """The command awaiting its final result, as given to `send()`."""
        return self._command

    @property
    def reading(self) -> bool:
        """True while the pending command reads a value (``AT+CPIN?``): a modem may
        leave out its final result there (see `AtChannel`'s quiet time)."""
        return self._reading

    @property
    def at_prompt(self) -> bool:
        """True after a `Prompt` until `send_pdu()` / `abort_prompt()`."""
        return self._prompt == "at_prompt"

    def send(self, command: str, *, prompt: bool | None = None) -> bytes:
        """Start `command` (``"AT+CSQ"``) and return the bytes to write (``b"AT+CSQ\\r"``).

        `prompt` says whether the modem will answer with ``> ``; by default true
        for AT+CMGS, AT+CMGW and AT+CMGC. Raises AtProtocolError while another
        command is pending or when `command` is not one line of printable ASCII.
        """
        if not isinstance(command, str):
            raise AtProtocolError(f"command must be str, not {type(command).__name__}")
        if self._command is not None:
            raise AtProtocolError(f"cannot send {command!r}: {self._command!r} is still pending")
        if not command.strip() or not command.isascii() or not command.isprintable():
            raise AtProtocolError(f"not a one-line ASCII command: {command!r}")
        names, asking, reading = _command_names(command)
        self._command = command
        self._echo = command.strip().upper()
        self._asking = asking
        self._own = names | {_ALIASES[n] for n in names if n in _ALIASES}
        self._reading = reading
        wants_prompt = bool(names & _PROMPT_COMMANDS) if prompt is None else prompt
        self._prompt = "awaiting" if wants_prompt else "none"
        return command.encode("ascii") + b"\r"

    def send_pdu(self, pdu: str) -> bytes:
        """Answer a `Prompt` with `pdu` (hex, SMSC prefix included); returns hex + Ctrl-Z."""
        if not isinstance(pdu, str):
            raise AtProtocolError(f"pdu must be str, not {type(pdu).__name__}")
        if self._prompt != "at_prompt":
            raise AtProtocolError("send_pdu() needs a Prompt first")
        if not pdu.isascii() or not _HEX.fullmatch(pdu) or len(pdu) % 2:
            raise AtProtocolError(f"not a PDU in hex: {pdu!r}")
        self._prompt = "sent"
        self._pdu_echo = pdu.upper()
        return pdu.encode("ascii") + b"\x1a"

    def abort_prompt(self) -> bytes:
        """Cancel the PDU input of the pending command; returns ESC to write.

        The command stays pending: most modems then answer ``OK``; if yours
        answers nothing, call `abandon()` after your timeout.
        """
        if self._prompt not in ("awaiting", "at_prompt"):
            raise AtProtocolError("no PDU prompt to abort")
        self._prompt = "none"
        return b"\x1b"

    def abandon(self) -> None:
        """Forget the pending command (after a timeout). Its late lines, final
        result included, will come out as `Urc` events."""
        self._clear_command()

    def reset(self) -> None:
        """Forget everything, buffered bytes included (after reopening the port)."""
        self._buffer = bytearray()
        self._discarding = False  # inside a line that went over MAX_LINE
        self._held: tuple[str, str, str, bool] | None = None  # URC header awaiting its body
        self._continued: tuple[list[str], bool] | None = None  # open-quoted +CUSD lines
        self._clear_command()

    def feed(self, data: bytes | bytearray | memoryview) -> list[Event]:
        """Take bytes read from the modem; return the events they complete."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise AtProtocolError(f"feed() takes bytes, not {type(data).__name__}")
        buffer = self._buffer
        buffer += data
        events: list[Event] = []
        end = len(buffer)
        pos = 0
        while pos < end:
            if self._discarding:
                found = _TERMINATORS.search(buffer, pos)
                stop = found.start() if found else end
                pos = self._garbage(buffer, pos, stop, events, whole=found is not None)
                if found is None:
                    break
                self._discarding = False
                continue
            start = _NOT_TERMINATOR.search(buffer, pos)
            if start is None:
                pos = end
                break
            pos = start.start()
            if buffer[pos] == 0x3E and self._prompt in ("awaiting", "at_prompt"):  # '>'
                if pos + 1 == end:
                    break  # '>' alone: the space that makes it a prompt may follow
                if buffer[pos + 1] == 0x20:
                    self._prompt = "at_prompt"
                    events.append(Prompt())
                    pos += 2
                    continue
            found = _TERMINATORS.search(buffer, pos)
            if found is None:
                if end - pos >= MAX_LINE:
                    pos = self._garbage(buffer, pos, end, events, whole=False)
                    self._discarding = True
                    continue
                break
            stop = found.start()
            if stop - pos >= MAX_LINE:
                pos = self._garbage(buffer, pos, stop, events, whole=True)
                continue
            self._line(bytes(buffer[pos:stop]), events)
            pos = stop
        del buffer[:pos]
        return events

    # -- lines ------------------------------------------------------------------

    def _line(self, raw: bytes, events: list[Event]) -> None:
        text = _decode(raw)
        if text is None:
            events.append(Garbage(raw))
            return
        if not text:
            return
        if self._continued is not None and self._continue(text, events):
            return
        if self._held is not None:
            name, args, header, hex_only = self._held
            self._held = None
            if not hex_only or _HEX.fullmatch(text):
                events.append(Urc(name, args, header, text))
                return
            # The promised PDU did not come: report the header alone and read
            # this line for what it is.
            events.append(Urc(name, args, header, None))
        self._classify(text, events)

    def _classify(self, text: str, events: list[Event]) -> None:
        upper = text.upper()
        if self._command is not None:
            if text == ">" and self._prompt in ("awaiting", "at_prompt"):
                self._prompt = "at_prompt"  # a prompt without its space
                events.append(Prompt())
                return
            if self._echo is not None and upper == self._echo:
                self._echo = None
                events.append(Echo(text))
                return
            if self._pdu_echo is not None and upper == self._pdu_echo:
                self._pdu_echo = None
                events.append(Echo(text))
                return
            final = _final(text)
            if final is not None:
                self._clear_command()
                events.append(final)
                return
        name, _, args = text.partition(":")
        name, args = name.strip(), args.strip()
        key = name.upper()
        if self._command is not None and self._belongs(key, text):
            self._echo = None
            self._body_next = key in _BODY_HEADERS
            if key == "+CUSD" and text.count('"') % 2:
                self._continued = ([text], False)
            else:
                events.append(Info(text))
            return
        body = _body_kind(key, args)
        if body is not None:
            self._held = (name, args, text, body)
        elif key == "+CUSD" and text.count('"') % 2:
            self._continued = ([text], True)
        else:
            events.append(Urc(name, args, text, None))

    def _belongs(self, key: str, text: str) -> bool:
        """Whether a line (neither echo nor final) is Info of the pending command."""
        if self._body_next:
            self._body_next = False
            return True
        if key in self._asking:
            return True
        if key in self._urc_names:
            return False
        shape = _URC_SHAPE.match(text)
        if shape is None:
            return True  # a bare value: `huawei`, an IMEI, a PDU, `Manufacturer: …`
        if shape.group(1).upper() in self._own:
            return True
        # Another name: a vendor's unsolicited code, unless the command is a basic one
        # (ATI lists `+GCAP: …`), where only the `^` codes are known to be unsolicited.
        return not (self._own or text.startswith("^"))

    def _continue(self, text: str, events: list[Event]) -> bool:
        """Add a line to an open-quoted +CUSD; True when the line was taken."""
        assert self._continued is not None
        lines, is_urc = self._continued
        taken = _final(text) is None
        if taken:
            lines.append(text)
        if taken and "\n".join(lines).count('"') % 2 and sum(map(len, lines)) < MAX_LINE:
            return True
        self._continued = None
        joined = "\n".join(lines)
        if is_urc:
            name, _, args = joined.partition(":")
            events.append(Urc(name.strip(), args.strip(), joined, None))
        else:
            events.append(Info(joined))
        return taken

    def _garbage(self, buffer: bytearray, pos: int, stop: int, events: list[Event], *, whole: bool) -> int:
        """Report buffer[pos:stop] as Garbage in MAX_LINE pieces; with `whole`
        the tail shorter than MAX_LINE too. Returns the new position."""
        while stop - pos >= MAX_LINE:
            events.append(Garbage(bytes(buffer[pos : pos + MAX_LINE])))
            pos += MAX_LINE
        if whole and stop > pos:
            events.append(Garbage(bytes(buffer[pos:stop])))
            pos = stop
        return pos

    def _clear_command(self) -> None:
        self._command = None
        self._echo = None
        self._pdu_echo = None
        self._asking = frozenset()
        self._own = frozenset()
        self._reading = False
        self._body_next = False
        self._prompt = "none"  # none | awaiting | at_prompt | sent


def _decode(raw: bytes) -> str | None:
    """Text of a line; None when it is not text (control characters, or only
    the NUL / 0xFF bytes some modems emit while booting)."""
    stripped = raw.strip(b" \t")
    if not stripped:
        return ""
    stripped = stripped.strip(b" \t\x00\xff")
    if not stripped or _CONTROL.search(stripped):
        return None
    try:
        return stripped.decode("utf-8")
    except UnicodeDecodeError:
        return stripped.decode("latin-1")


def _final(text: str) -> Final | None:
    upper = text.upper()
    kind = _FINAL_WORDS.get(upper)
    if kind is not None:
        return Final(kind, None, text)
    match = _CM_ERROR.fullmatch(text)
    if match is not None:
        which, detail = match.group(1).upper(), (match.group(2) or "").strip()
        if detail.isascii() and detail.isdigit():
            code: int | None = int(detail)
        elif which == "S":
            code = cms_code_from_text(detail)
        else:
            code = cme_code_from_text(detail)
        return Final("CMS" if which == "S" else "CME", code, detail)
    if _CONNECT.fullmatch(text):
        return Final("CONNECT", None, text)
    return None


def _body_kind(key: str, args: str) -> bool | None:
    """Whether a URC header is followed by a body line: None for no body, True
    for a hex PDU (PDU mode), False for a line of text (text mode)."""
    if key == "+CMT":  # 27.005 §3.4.1
        if _CMT_PDU_HEADER.fullmatch(args):
            return True
        return False if len(split_args(args)) >= 3 else None
    if key == "+CDS":  # text mode carries everything in the header
        return True if _LENGTH_ONLY.fullmatch(args) else None
    if key == "+CBM":
        if _LENGTH_ONLY.fullmatch(args):
            return True
        return False if len(split_args(args)) >= 5 else None
    return None


@lru_cache(maxsize=512)  # a sender repeats a few command lines: parse each once
def _command_names(command: str) -> tuple[frozenset[str], frozenset[str], bool]:
    """Extended command names in a command line, those of them used in a form
    that asks for their value (read ``?``, test ``=?`` or bare action), and
    whether one of them is read (``?``)."""
    body = command.strip()
    if body[:2].upper() == "AT":
        body = body[2:]
    names: set[str] = set()
    asking: set[str] = set()
    reading = False
    for segment in _split_outside_quotes(body, ";"):
        segment = segment.strip()
        match = _EXTENDED_NAME.match(segment)
        if match is None:
            continue
        name = match.group().upper()
        names.add(name)
        rest = segment[match.end() :].lstrip()
        if not rest or rest.startswith("?") or rest.startswith("=?"):
            asking.add(name)
        reading = reading or rest.startswith("?")
    return frozenset(names), frozenset(asking), reading


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
