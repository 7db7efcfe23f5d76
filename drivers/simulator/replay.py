"""Answering like a recorded device: the decisions behind `simulate --replay FILE`.

A recording (`drivers.at.recording`) is cut into exchanges: a command line, the lines the
device answered with (echo left out; up to and including its final result, or all of
them when it sent none, as a Wavecom does after `AT+CPIN?`), how long that took, and the
unsolicited lines that followed while the line was idle.

Which answer a command gets (`Replay.decide`, pure):

- commands that move messages (`AT+CMGS`, `AT+CMGR`, `AT+CMGD`, …) are always the
  simulator's: sends, status reports and inbound messages go through the simulated network;
- commands that change the modem's state (`ATE0`, `AT+CMGF=0`, `AT+CNMI=…`, `AT+CPMS="SM"…`,
  `AT+CMGL=4`, `AT+CFUN=…`) get the recorded answer only when the device refused them or
  gave no final result; when it accepted them the simulator carries them out, so that what
  the device accepted is in effect;
- any other command found in the recording (identity, PIN state, signal, the test and read
  forms) gets the recorded answer; the n-th time a command is sent it gets the n-th recorded
  answer, and the last one from then on;
- a command not in the recording gets the simulator's own answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from drivers.at.masking import mask_line
from drivers.at.recording import Entry, read_recording

__all__ = ["Answer", "Replay", "load_replay", "command_key"]

# Seconds an answer may be held back: recorded latencies, bounded so a replay stays quick.
MAX_DELAY = 2.0

# Always the simulator's: they carry messages, which go through the simulated network.
_SIMULATED = frozenset({"+CMGS", "+CMGW", "+CMSS", "+CMGR", "+CMGD", "+CNMA", "+CMGC"})
# State the simulator must hold when the device accepted the command (set / exec forms).
_STATEFUL = frozenset(
    {
        "+CNMI",
        "+CPMS",
        "+CMGL",
        "+CMGF",
        "+CMEE",
        "+CSMS",
        "+CMMS",
        "+CSCA",
        "+CFUN",
        "+CSCS",
        "+CSDH",
        "+CSMP",
        "+CPIN",
        "+CREG",
        "+CGREG",
        "+CEREG",
    }
)
_FINALS = frozenset({"OK", "ERROR", "COMMAND NOT SUPPORT", "TOO MANY PARAMETERS", "NO CARRIER"})
_FINAL_PREFIXES = ("+CMS ERROR", "+CME ERROR")
# Not replayed when idle: they would announce messages the simulator does not hold.
_MESSAGE_URCS = ("+CMTI", "+CDSI", "+CMT:", "+CDS:", "+CBM", "RING")


@dataclass(frozen=True)
class Answer:
    """What the device sent for one command."""

    lines: tuple[str, ...]  # information lines and the final result, echo left out
    final: str | None  # the final result line; None when the device sent none
    delay: float  # seconds from the command to its last line (bounded by MAX_DELAY)
    after: tuple[str, ...] = ()  # unsolicited lines while idle, before the next command

    @property
    def failed(self) -> bool:
        return self.final is None or self.final != "OK"


class Replay:
    """A recording's answers by command (see the module docstring)."""

    def __init__(self, entries: Iterable[Entry], *, source: str = "recording") -> None:
        self.source = source
        answers: dict[str, list[Answer]] = {}
        for command, answer in _exchanges(list(entries)):
            answers.setdefault(command_key(command), []).append(answer)
        self.answers: dict[str, tuple[Answer, ...]] = {k: tuple(v) for k, v in answers.items()}

    def decide(self, command: str, turn: int) -> Answer | None:
        """The recorded answer for the `turn`-th (0-based) sending of `command`, or None
        when the simulator answers it."""
        key = command_key(command)
        recorded = self.answers.get(key)
        if not recorded:
            return None
        name, form = _name_form(key)
        if name in _SIMULATED:
            return None
        answer = recorded[min(turn, len(recorded) - 1)]
        if _changes_state(name, form) and not answer.failed:
            return None
        return answer

    def first_line(self, command: str) -> str | None:
        """The first information line the device gave for `command` (AT+CGMI …), if any."""
        for answer in self.answers.get(command_key(command), ()):
            for line in answer.lines:
                if line != answer.final:
                    return line.strip()
        return None

    @property
    def unsupported_final(self) -> str | None:
        """The device's own final result for unknown commands, when it has one."""
        for answers in self.answers.values():
            for answer in answers:
                if answer.final == "COMMAND NOT SUPPORT":
                    return answer.final
        return None


def load_replay(path: str | Path) -> Replay:
    """Read a recording; ValueError when the file is not one (OSError when unreadable)."""
    return Replay(read_recording(path), source=str(path))


def command_key(command: str) -> str:
    """A command line as recordings are looked up: masked like a recording, without
    spaces outside quotes, upper case outside quotes."""
    line = mask_line("out", command.strip().lstrip("\x1b").strip())
    parts = re.split(r'("[^"]*")', line)
    return "".join(p if p.startswith('"') else p.replace(" ", "").upper() for p in parts)


def _name_form(key: str) -> tuple[str, str]:
    """(`+CNMI`, `set`) for `AT+CNMI=2,1`; basic commands (`ATE0`, `ATZ`) by their text."""
    body = key[2:] if key.startswith("AT") else key
    m = re.match(r"([+^$#%*][A-Z0-9]+)(=\?|\?|=)?", body)
    if not m:
        return body, "exec"
    form = {"=?": "test", "?": "read", "=": "set"}.get(m.group(2) or "", "exec")
    return m.group(1), form


def _changes_state(name: str, form: str) -> bool:
    if name in _STATEFUL:
        return form in ("set", "exec")
    return not name.startswith(("+", "^", "$", "#", "%", "*")) and name not in ("", "I") and not name.startswith("I")


def _is_final(line: str) -> bool:
    return line in _FINALS or line.startswith(_FINAL_PREFIXES)


def _is_command(entry: Entry) -> bool:
    return entry.direction == "out" and entry.line.lstrip("\x1b").strip()[:2].upper() == "AT"


def _exchanges(entries: list[Entry]) -> list[tuple[str, Answer]]:
    out: list[tuple[str, Answer]] = []
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if not _is_command(entry):
            continue
        command = entry.line.lstrip("\x1b").strip()
        lines: list[str] = []
        after: list[str] = []
        final: str | None = None
        last_ms = entry.ms
        echo_seen = False
        prompted = False
        while i < len(entries) and not _is_command(entries[i]):
            nxt = entries[i]
            i += 1
            if nxt.direction == "out":
                continue  # a PDU after a prompt
            raw = nxt.line.rstrip()  # leading spaces are the device's (" WAVECOM MODEM")
            line = raw.strip()
            if not echo_seen and not lines and line.upper() == command.upper():
                echo_seen = True
                continue
            if line == ">":
                prompted = True
            if final is None:
                lines.append(raw)
                last_ms = nxt.ms
                if _is_final(line):
                    final = line
            elif not line.startswith(_MESSAGE_URCS):
                after.append(raw)
        if prompted:
            continue  # a prompting command: the simulator's own
        delay = min(MAX_DELAY, max(0.0, (last_ms - entry.ms) / 1000))
        out.append((command, Answer(tuple(lines), final, delay, tuple(after))))
    return out
