"""Identify a modem on a port: what `modemgate modems probe` prints."""

from __future__ import annotations

import contextlib
from typing import Any

from drivers._exceptions import CmeError, CmsError, CommandError
from drivers.at.indications import cnmi_choices, reports_routed
from drivers.at.modem import Modem
from drivers.at.protocol import answer_args
from drivers.at.ranges import offered

__all__ = ["probe"]


async def probe(modem: Modem, *, pin: str | None = None) -> dict[str, Any]:
    """Ask the modem who it is and how it is doing, without changing its settings beyond
    echo off and numeric errors. A locked SIM is reported, and unlocked only with `pin`."""
    await modem._wake()
    await modem._cmd("ATE0")
    await modem._try("AT+CMEE=1")
    pin_state = await modem.pin_state()
    if pin_state == "SIM PIN" and pin:
        await modem._cmd(f'AT+CPIN="{pin}"')
        pin_state = await modem.pin_state()
    identity = await modem._read_identity()
    health = await modem.health()
    smsc = await modem.read_smsc() if pin_state == "READY" else None
    storage = None
    with contextlib.suppress(CmsError, CmeError, CommandError):
        storage = answer_args(await modem._cmd("AT+CPMS?"), "+CPMS")
    # Whether the modem can hand status reports over, from what its AT+CNMI=? offers
    # (the probe leaves the setting itself alone).
    routing = None
    with contextlib.suppress(CmsError, CmeError, CommandError):
        choices = cnmi_choices(offered(answer_args(await modem._cmd("AT+CNMI=?"), "+CNMI") or ""))
        routing = choices[0] if choices else None
    return {
        "manufacturer": identity.manufacturer,
        "model": identity.model,
        "firmware": identity.revision,
        "imei": identity.imei,
        "imsi": identity.imsi,
        "pin": pin_state,
        "signal_rssi": health.rssi,
        "signal_dbm": health.dbm,
        "registration": health.registration,
        "smsc": smsc,
        "storage": storage,
        "status_reports": reports_routed(routing),
        "cnmi": routing,
    }
