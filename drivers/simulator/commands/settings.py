"""Setting commands: error reports (AT+CMEE), character set (AT+CSCS), message format and
text-mode parameters (AT+CMGF, AT+CSDH, AT+CSMP), AT+CMMS, AT+CUSD, and the settings the
simulator accepts without modelling them."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from drivers.simulator.framing import CommandFailed, Form, int_arg, other_form
from drivers.simulator.textmode import from_te_string

if TYPE_CHECKING:
    from drivers.simulator.commands import Handler
    from drivers.simulator.modem import SimulatedModem

__all__ = ["number", "cscs", "csmp", "cusd", "accepted"]

# 27.007 §9.2.1: +CME ERROR: 4, operation not supported.
CME_OP_NOT_SUPPORTED = 4
_CHARSETS = ("IRA", "GSM", "UCS2")


def cscs(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    if form == "read":
        return [f'+CSCS: "{m.s.cscs}"']
    if form == "test":
        return ['+CSCS: ("IRA","GSM","UCS2")']
    if form == "set":
        name = args[0].upper()
        if m.s.cscs == "UCS2" and name not in _CHARSETS:
            with contextlib.suppress(CommandFailed):
                name = from_te_string(m.s.cscs, name).upper()  # "0047534D" is "GSM" in UCS2
        if name not in _CHARSETS:
            raise CommandFailed("CME", CME_OP_NOT_SUPPORTED)
        m.s.cscs = name
    return []


def csmp(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
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
                values[i] = int_arg(raw, 0, 255)
        m.s.csmp = values
    return []


def cusd(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    """27.007 §7.15: presentation of USSD results on or off; sending USSD is not simulated."""
    if form != "set":
        return other_form(form, read=[f"+CUSD: {m.cusd}"], test=["+CUSD: (0-2)"])
    if len(args) > 1 and args[1]:
        raise CommandFailed("CME", CME_OP_NOT_SUPPORTED)
    n = int_arg(args[0] or "0", 0, 2)
    if n in (0, 1):
        m.cusd = n
    return []


def number(tag: str, attr: str, hi: int, *, test: str | None = None, on_modem: bool = False) -> Handler:
    """A setting that is one number 0..hi: `<tag>: <n>` when read, the range `test` (if
    any) when tested. It lives in the volatile settings, or with `on_modem` on the modem."""

    def handler(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
        holder = m if on_modem else m.s
        if form == "read":
            return [f"{tag}: {getattr(holder, attr)}"]
        if form == "test" and test is not None:
            return [f"{tag}: {test}"]
        if form == "set":
            setattr(holder, attr, int_arg(args[0] or "0", 0, hi))
        return []

    return handler


def accepted(*reads: str) -> Handler:
    """A setting we accept without modelling it; `reads` answers its read form."""

    def handler(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
        if form == "read":
            return list(reads)
        return []

    return handler
