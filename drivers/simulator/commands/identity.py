"""Identification commands (27.007 §5): maker, model, revision, IMEI, IMSI, ICCID, +GCAP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.simulator.framing import Form, other_form

if TYPE_CHECKING:
    from drivers.simulator.commands import Handler
    from drivers.simulator.modem import SimulatedModem

__all__ = ["identity", "ccid", "gcap"]


def identity(attr: str, sim: bool = False) -> Handler:
    """A command that answers one field of the profile (`sim`: read from the SIM, so it
    needs the SIM ready)."""

    def handler(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
        if form != "exec":
            return other_form(form, test=[])
        if sim:
            m.sim.require()
        return [getattr(m.profile, attr)]

    return handler


def ccid(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    m.sim.require()
    return [f"^ICCID: {m.profile.iccid}" if m.profile.manufacturer == "huawei" else m.profile.iccid]


def gcap(m: SimulatedModem, form: Form, args: list[str]) -> list[str]:
    return ["+GCAP: +CGSM,+DS,+ES"]
