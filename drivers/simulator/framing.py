"""Framing of a simulated modem's command lines and answers (ITU-T V.250), without I/O.

In: what follows `AT` on a command line, split into single commands, and each extended
command split into its name, form and parameters. Out: information text and the final
result framed per the volatile settings (ATV verbose or numeric, ATQ quiet, AT+CMEE off,
numeric or verbose error codes). Handlers raise `CommandFailed` for a failing final result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from drivers.at.errors import describe_cme, describe_cms
from drivers.at.protocol import split_args
from drivers.simulator.settings import Settings

__all__ = [
    "CTRL_Z",
    "ESC",
    "Form",
    "FailureKind",
    "CommandFailed",
    "Prompt",
    "split_commands",
    "parse_extended",
    "int_arg",
    "other_form",
    "CME_INCORRECT_PARAMETERS",
    "info_block",
    "answer",
    "error_result",
]

CTRL_Z = 0x1A
ESC = 0x1B

Form = Literal["exec", "read", "test", "set"]
FailureKind = Literal["ERROR", "UNSUPPORTED", "CMS", "CME"]

# 27.007 §9.2.1: +CME ERROR: 50, incorrect parameters.
CME_INCORRECT_PARAMETERS = 50
_FORMS: dict[str, Form] = {"": "exec", "?": "read", "=?": "test", "=": "set"}
_EXTENDED_COMMAND = re.compile(r"([+^$#%*][A-Z0-9]+)(=\?|\?|=)?(.*)$", re.IGNORECASE)
_BASIC_COMMAND = re.compile(r"(&?[A-Za-z])(\d*=\d*|\d*\?|\d*)")


class CommandFailed(Exception):
    """A command's failing final result: plain ERROR, UNSUPPORTED (an unknown or refused
    command: the profile's `unsupported_final`), or a +CMS / +CME code."""

    def __init__(self, kind: FailureKind, code: int | None = None) -> None:
        self.kind = kind
        self.code = code


@dataclass(frozen=True)
class Prompt:
    """A handler's answer that asks for input after `> ` (AT+CMGS, AT+CMGW): `finish`
    takes what came before Ctrl-Z and answers it (27.005 §3.5.1)."""

    finish: Callable[[str], None]


def split_commands(rest: str) -> list[str]:
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
        m = _BASIC_COMMAND.match(rest[i:])
        if not m:
            raise CommandFailed("ERROR")
        out.append(m.group(0))
        i += m.end()
    if not out:
        out.append("")
    return out


def parse_extended(cmd: str) -> tuple[str, Form, list[str]]:
    """`+CMGF=1` -> ('+CMGF', 'set', ['1']): upper-case name, form, unquoted parameters
    (those of the set form only; an empty set form has one empty parameter)."""
    m = _EXTENDED_COMMAND.match(cmd)
    if not m:
        raise CommandFailed("ERROR")
    name, form, rest = m.group(1).upper(), _FORMS[m.group(2) or ""], m.group(3)
    if form in ("read", "test") and rest:
        raise CommandFailed("ERROR")
    return name, form, (split_args(rest) or [""]) if form == "set" else []


def int_arg(value: str, lo: int, hi: int) -> int:
    """A numeric parameter within lo..hi, else +CME ERROR: 50."""
    try:
        n = int(value)
    except ValueError:
        raise CommandFailed("CME", CME_INCORRECT_PARAMETERS) from None
    if not lo <= n <= hi:
        raise CommandFailed("CME", CME_INCORRECT_PARAMETERS)
    return n


def other_form(form: Form, *, read: list[str] | None = None, test: list[str] | None = None) -> list[str]:
    """The answer to a form a command does not act on: its `read` or `test` lines where the
    command has that form, else ERROR, as a modem answers a form it does not implement."""
    if form == "read" and read is not None:
        return read
    if form == "test" and test is not None:
        return test
    raise CommandFailed("ERROR")


def info_block(info: list[list[str]], verbose: bool = True) -> str:
    """Information text as V.250 §5.7.1 frames it, one block per command of the line.

    Verbose (V1): each block is CR LF, its lines joined by CR LF, CR LF — so the lines of
    one multi-line answer have no blank line between them, and two commands' answers do.
    Numeric (V0): each line is followed by CR LF, no header.
    """
    if not verbose:
        return "".join(line + "\r\n" for block in info for line in block)
    return "".join("\r\n" + "\r\n".join(block) + "\r\n" for block in info if block)


def answer(info: list[list[str]], final: str, settings: Settings) -> bytes:
    """A whole answer: information text, then the final result (none when ATQ1)."""
    body = info_block(info, settings.verbose)
    if settings.quiet:
        return body.encode("latin-1")
    if settings.verbose:
        return (body + f"\r\n{final}\r\n").encode("latin-1")
    return (body + f"{final}\r").encode("latin-1")


def error_result(err: CommandFailed, settings: Settings, unsupported_final: str) -> str:
    """The final result for a failed command, per AT+CMEE (0 plain, 1 code, 2 text) and ATV."""
    if err.kind == "CMS" and settings.cmee:
        return f"+CMS ERROR: {err.code if settings.cmee == 1 else describe_cms(err.code or 0)}"
    if err.kind == "CME" and settings.cmee:
        return f"+CME ERROR: {err.code if settings.cmee == 1 else describe_cme(err.code or 0)}"
    if err.kind == "UNSUPPORTED" and settings.verbose:
        return unsupported_final
    return "ERROR" if settings.verbose else "4"
