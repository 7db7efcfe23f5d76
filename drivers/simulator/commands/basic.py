"""V.250 basic commands: echo (E), result format (V, Q), reset (Z, &F), identification (I),
and the settings a modem accepts without them mattering here (&C, &D, &K, &W, S-registers …)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.simulator.framing import CommandFailed
from drivers.simulator.settings import Settings

if TYPE_CHECKING:
    from drivers.simulator.modem import SimulatedModem

__all__ = ["run_basic"]

# Accepted and ignored.
_ACCEPTED = ("&W", "&C", "&D", "&K", "X", "L", "M", "&V", "S")


def run_basic(m: SimulatedModem, cmd: str) -> list[str]:
    """One basic command (upper case, without `AT`); its information lines."""
    if cmd == "":
        return []
    letter, digits = cmd[:1], cmd[1:]
    if cmd.startswith("&"):
        letter, digits = cmd[:2], cmd[2:]
    value = int(digits) if digits.isdigit() else 0
    if digits and not digits.isdigit() and not letter.startswith("S"):
        raise CommandFailed("ERROR")
    if letter.upper() in m.profile.refuse:
        raise CommandFailed("UNSUPPORTED")
    if letter == "E":
        m.s.echo = value == 1
    elif letter == "V":
        m.s.verbose = value == 1
    elif letter == "Q":
        m.s.quiet = value == 1
    elif letter in ("Z", "&F"):
        m.s = Settings()
    elif letter == "I":
        p = m.profile
        if p.ati:
            return list(p.ati)
        return [
            f"Manufacturer: {p.manufacturer}",
            f"Model: {p.model}",
            f"Revision: {p.revision}",
            f"IMEI: {p.imei}",
            "+GCAP: +CGSM,+DS,+ES",
        ]
    elif letter in _ACCEPTED:
        if letter == "S" and "?" in cmd:
            return ["013" if cmd.startswith("S3") else "000"]
    else:
        raise CommandFailed("UNSUPPORTED")
    return []
