"""`modemgate modems …`: look at modems directly on their ports."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer

from drivers import AtError
from drivers.at.modem import ModemConfig, open_modem
from drivers.at.probe import probe
from drivers.at.recording import recording_transport

app = typer.Typer(help="Inspect modems.", no_args_is_help=True)

_LABELS = [
    ("manufacturer", "Manufacturer"),
    ("model", "Model"),
    ("firmware", "Firmware"),
    ("imei", "IMEI"),
    ("imsi", "SIM IMSI"),
    ("pin", "PIN state"),
    ("signal", "Signal"),
    ("registration", "Registration"),
    ("smsc", "SMSC"),
    ("storage", "Storage"),
    ("reports", "Status reports"),
]


@app.command("probe")
def probe_cmd(
    port: str = typer.Argument(..., help="Device path, socket://host:port or rfc2217://host:port."),
    pin: str | None = typer.Option(None, "--pin", help="Enter this PIN if the SIM asks for one."),
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds to wait for each answer."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    record: str | None = typer.Option(
        None, "--record", help="Append the AT exchange to this file (JSON lines, identifiers masked)."
    ),
) -> None:
    """Identify a modem: maker, model, firmware, IMEI, SIM, PIN state, signal, registration, SMSC."""
    try:
        info = asyncio.run(_probe(port, pin, timeout, record))
    except AtError as exc:
        message = str(exc) if port and port in str(exc) else f"{port}: {exc}"
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(code=2) from None
    if as_json:
        typer.echo(json.dumps({"port": port, **info}))
        return
    rssi, dbm = info["signal_rssi"], info["signal_dbm"]
    info["signal"] = f"{rssi}/31 ({dbm} dBm)" if rssi is not None else "unknown"
    cnmi = info["cnmi"]
    info["reports"] = f"yes (AT+CNMI={cnmi})" if info["status_reports"] else "no" if cnmi else "unknown"
    typer.echo(f"{'Port':<14}: {port}")
    for key, label in _LABELS:
        value = info.get(key)
        typer.echo(f"{label:<14}: {value if value is not None else '-'}")


async def _probe(port: str, pin: str | None, timeout: float, record: str | None = None) -> dict[str, Any]:
    config = ModemConfig(command_timeout=timeout, hang_after=2)
    if record is not None:
        modem = await open_modem(port, config, transport=recording_transport(record))
    else:
        modem = await open_modem(port, config)
    try:
        return await probe(modem, pin=pin)
    finally:
        await modem.close()
