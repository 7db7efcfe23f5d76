"""SIM commands: AT+CPIN (27.007 §8.3), Huawei AT^CPIN, AT+CNUM (27.007 §7.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.simulator.framing import CommandFailed, Form, other_form
from drivers.simulator.sim import CME_SIM_FAILURE
from drivers.simulator.textmode import te_string

if TYPE_CHECKING:
    from drivers.simulator.modem import SimulatedModem

__all__ = ["cpin", "huawei_cpin", "cnum"]


def cpin(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    """27.007 §8.3. Three wrong PINs ask for the PUK; ten wrong PUKs block the SIM for
    good (+CME ERROR: 13, SIM failure, from then on)."""
    if m.sim.blocked:
        raise CommandFailed("CME", CME_SIM_FAILURE)
    if form != "set":
        return other_form(form, read=[f"+CPIN: {m.sim.code()}"], test=[])
    if m.sim.enter(args):
        m.faults.pin_required = False
    return []


def huawei_cpin(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    """Huawei AT^CPIN?: `^CPIN: <code>,[<times>],<puk>,<pin>,<puk2>,<pin2>` (attempts left;
    <times> for the code asked for now, empty when READY)."""
    if form != "read":
        return other_form(form, test=[])
    if m.sim.blocked:
        raise CommandFailed("CME", CME_SIM_FAILURE)
    sim = m.sim
    code = sim.code()
    times = {"SIM PIN": sim.pin_attempts, "SIM PUK": sim.puk_attempts}.get(code, "")
    return [f"^CPIN: {code},{times},{sim.puk_attempts},{sim.pin_attempts},10,3"]


def cnum(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    if form == "test":
        return []
    m.sim.require()
    n = m.profile.number
    return [f'+CNUM: "","{te_string(m.s.cscs, n)}",{145 if n.startswith("+") else 129}']
