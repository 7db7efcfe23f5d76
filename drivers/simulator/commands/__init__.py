"""The simulated modem's command handlers, one module per command family.

A handler takes (modem, form, args), form being exec | read | test | set and args the
set form's parameters, and returns its information lines, or a `Prompt` to ask for PDU or
text input; it raises `CommandFailed` for a failing final result. Handlers use only the
modem's public surface (see `SimulatedModem`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from drivers.simulator.commands import identity, network, settings, sim, sms
from drivers.simulator.commands.basic import run_basic
from drivers.simulator.framing import Form, Prompt, other_form

if TYPE_CHECKING:
    from drivers.simulator.modem import SimulatedModem

__all__ = ["Handler", "HANDLERS", "run_basic"]

Handler: TypeAlias = "Callable[[SimulatedModem, Form, list[str]], list[str] | Prompt]"


def _clac(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    """27.007 §8.37: the commands this modem knows, one per line (python-gsmmodem reads it)."""
    if form != "exec":
        return other_form(form, test=[])
    return ["AT" + name for name in HANDLERS if name not in m.profile.refuse]


# Extended commands by name (AT+CLAC lists them in this order).
HANDLERS: dict[str, Handler] = {
    "+CGMI": identity.identity("manufacturer"),
    "+GMI": identity.identity("manufacturer"),
    "+CGMM": identity.identity("model"),
    "+GMM": identity.identity("model"),
    "+CGMR": identity.identity("revision"),
    "+GMR": identity.identity("revision"),
    "+CGSN": identity.identity("imei"),
    "+GSN": identity.identity("imei"),
    "+CIMI": identity.identity("imsi", sim=True),
    "^ICCID": identity.ccid,
    "+GCAP": identity.gcap,
    "+CMEE": settings.number("+CMEE", "cmee", 2, test="(0-2)"),
    "+CPIN": sim.cpin,
    "^CPIN": sim.huawei_cpin,
    "+CFUN": network.cfun,
    "+CSQ": network.csq,
    "+CREG": network.registration("creg", "+CREG"),
    "+CGREG": network.registration("cgreg", "+CGREG"),
    "+CEREG": network.registration("cereg", "+CEREG"),
    "+CGATT": network.cgatt,
    "+COPS": network.cops,
    "+CSCS": settings.cscs,
    "+CMGF": settings.number("+CMGF", "cmgf", 1, test="(0,1)"),
    "+CSMS": sms.csms,
    "+CPMS": sms.cpms,
    "+CNMI": sms.cnmi,
    "+CMGS": sms.cmgs,
    "+CMGW": sms.cmgw,
    "+CMSS": sms.cmss,
    "+CMGL": sms.cmgl,
    "+CMGR": sms.cmgr,
    "+CMGD": sms.cmgd,
    "+CSCA": sms.csca,
    "+CNMA": sms.cnma,
    "+CMMS": settings.number("+CMMS", "cmms", 2, test="(0-2)", on_modem=True),
    "+CNUM": sim.cnum,
    "+CCLK": network.cclk,
    "+CSDH": settings.number("+CSDH", "csdh", 1),
    "+CSMP": settings.csmp,
    "+CSCB": settings.accepted('+CSCB: 0,"",""'),
    "+CLIP": settings.accepted("+CLIP: 0,1"),
    "+CRC": settings.accepted("+CRC: 0"),
    "+CMOD": settings.accepted("+CMOD: 0"),
    "^CURC": settings.accepted("^CURC: 1"),
    "^PORTSEL": settings.accepted("^PORTSEL: 0"),  # Huawei: which port carries URCs; gammu sets it
    "+CHUP": settings.accepted(),
    "+CVHU": settings.accepted("+CVHU: 0"),
    "+CLAC": _clac,
    "+CUSD": settings.cusd,
}
