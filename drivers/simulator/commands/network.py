"""Network commands: functionality (AT+CFUN), signal (AT+CSQ), registration (AT+CREG,
AT+CGREG, AT+CEREG, AT+CGATT), operator (AT+COPS) and network time (AT+CCLK), 27.007 §7-8."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.simulator.framing import CME_INCORRECT_PARAMETERS, CommandFailed, Form, int_arg, other_form
from drivers.simulator.textmode import te_string, tz_suffix

if TYPE_CHECKING:
    from drivers.simulator.commands import Handler
    from drivers.simulator.modem import SimulatedModem

__all__ = ["cfun", "csq", "registration", "cgatt", "cops", "cclk"]


def cfun(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    """27.007 §8.2: 1 full functionality, 0 minimum and 4 flight mode (not registered);
    <rst>=1 restarts the modem first, which comes back in power-up state."""
    if form != "set":
        return other_form(form, read=[f"+CFUN: {m.cfun}"], test=["+CFUN: (0,1,4),(0-1)"])
    fun = int(args[0]) if args[0].isdigit() else -1
    if fun not in (0, 1, 4):
        raise CommandFailed("CME", CME_INCORRECT_PARAMETERS)
    rst = int_arg(args[1] or "0", 0, 1) if len(args) > 1 else 0
    if rst:
        if fun != 1:
            raise CommandFailed("CME", CME_INCORRECT_PARAMETERS)
        m.restart()  # after the OK, as a module reboots
        return []
    m.set_functionality(fun)
    if fun == 1:
        m.start_up()  # the radio and SIM start again: some models are busy for a while
    return []


def csq(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    if form != "exec":
        return other_form(form, test=["+CSQ: (0-31,99),(0-7,99)"])
    rssi = m.profile.rssi if m.registered else 99
    return [f"+CSQ: {rssi},99"]


def registration(attr: str, tag: str) -> Handler:
    """AT+CREG / AT+CGREG / AT+CEREG: <n> in the settings field `attr`."""

    def handler(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
        if form == "read":
            n = getattr(m.s, attr)
            stat = m.registration()
            where = ',"0A1B","3799B"' if n == 2 and stat in (1, 5) else ""
            return [f"{tag}: {n},{stat}{where}"]
        if form == "test":
            return [f"{tag}: (0-2)"]
        if form == "set":
            setattr(m.s, attr, int_arg(args[0] or "0", 0, 2))
            return []
        raise CommandFailed("ERROR")

    return handler


def cgatt(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    if form == "read":
        return [f"+CGATT: {1 if m.registered else 0}"]
    if form == "test":
        return ["+CGATT: (0,1)"]
    return []


def cops(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    p = m.profile
    if form == "read":
        if not m.registered:
            return ["+COPS: 0"]
        if m.s.cops_format == 2:
            name = p.operator_numeric
        else:
            name = te_string(m.s.cscs, p.operator if m.s.cops_format == 0 else p.operator[:8])
        return [f'+COPS: 0,{m.s.cops_format},"{name}",0']
    if form == "test":
        return [f'+COPS: (2,"{p.operator}","{p.operator[:8]}","{p.operator_numeric}",0),,(0-4),(0-2)']
    if form == "set":
        mode = int_arg(args[0] or "0", 0, 4)
        if mode == 3 and len(args) > 1:
            m.s.cops_format = int_arg(args[1], 0, 2)
    return []


def cclk(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    if form == "read":
        now = m.network.now()
        return [f'+CCLK: "{now.strftime("%y/%m/%d,%H:%M:%S")}{tz_suffix(now)}"']
    return []
