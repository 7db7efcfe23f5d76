"""Events produced by `AtProtocol.feed()`.

Each event is a small immutable value. A modem's output is a sequence of them:
an optional `Echo` of the command, `Info` lines, at most one `Prompt` (for
commands that take a PDU), then one `Final`. `Urc` events may appear anywhere,
including in the middle of a response. `Garbage` reports bytes that were not a
line of text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from drivers._exceptions import AtError, CmeError, CmsError, CommandError

__all__ = ["Echo", "Info", "Final", "FinalKind", "Prompt", "Urc", "Garbage", "Event"]

FinalKind: TypeAlias = Literal[
    "OK",
    "ERROR",
    "CMS",
    "CME",
    "NO CARRIER",
    "BUSY",
    "NO ANSWER",
    "NO DIALTONE",
    "CONNECT",
]


@dataclass(frozen=True, slots=True)
class Echo:
    """The modem repeating what we sent (echo on, `ATE1`).

    `line` is the echoed command (``AT+CSQ``) or, after a prompt, the echoed PDU
    (hex, without the Ctrl-Z).
    """

    line: str


@dataclass(frozen=True, slots=True)
class Info:
    """An information line that belongs to the pending command.

    Examples: ``+CSQ: 20,99``; ``+CMGL: 1,0,,23`` and then the PDU under it as a
    second `Info`; ``Manufacturer: huawei``; the IMEI digits. `line` is the text
    without line ending or surrounding blanks.
    """

    line: str


@dataclass(frozen=True, slots=True)
class Final:
    """The final result code that ends the pending command.

    `kind` says which one. `code` is the number of a ``+CMS ERROR`` / ``+CME
    ERROR`` (looked up from the text with ``AT+CMEE=2`` when the text is a
    standard one), else None. `text` is the modem's wording: for +CMS/+CME the
    part after the colon (``500``, ``SIM PIN required``), otherwise the whole line
    (``OK``, ``COMMAND NOT SUPPORT``, ``CONNECT 115200``).
    """

    kind: FinalKind
    code: int | None = None
    text: str = ""

    @property
    def ok(self) -> bool:
        """True for ``OK`` and ``CONNECT``: the command succeeded."""
        return self.kind in ("OK", "CONNECT")

    def as_error(self) -> AtError | None:
        """The exception this result stands for, or None when `ok`."""
        if self.ok:
            return None
        if self.kind == "CMS":
            return CmsError(self.code, self.text)
        if self.kind == "CME":
            return CmeError(self.code, self.text)
        return CommandError(self.text or self.kind)


@dataclass(frozen=True, slots=True)
class Prompt:
    """The ``> `` prompt: the modem waits for the PDU of AT+CMGS / AT+CMGW.

    Answer with `AtProtocol.send_pdu()` or `AtProtocol.abort_prompt()`.
    """


@dataclass(frozen=True, slots=True)
class Urc:
    """An unsolicited result code (a line the modem sent on its own).

    `name` is the text before the first colon (``+CMTI``, ``^RSSI``) or the whole
    line when it has none (``RING``, ``SMS DONE``); `args` is the text after the
    colon, stripped (``"SM",3``); `line` is the whole line. `pdu` is the line that
    followed a ``+CMT`` / ``+CDS`` / ``+CBM`` header (the PDU in PDU mode, the text
    in text mode), or None for every other URC. Lines nobody asked for are
    reported here too, never dropped.
    """

    name: str
    args: str
    line: str
    pdu: str | None = None


@dataclass(frozen=True, slots=True)
class Garbage:
    """Bytes that are not a line of text: control characters, boot noise, or a
    line longer than `MAX_LINE` (cut into pieces of at most that size)."""

    data: bytes


Event: TypeAlias = Echo | Info | Final | Prompt | Urc | Garbage
