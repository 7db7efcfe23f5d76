"""`modemgate modems scan`: find the serial ports that speak AT, probe each modem once, and
print `[[modems]]` blocks ready to paste into modemgate.toml.

A USB stick shows several ports (modem, diagnostics, GPS, PCUI); some never answer, and
two may answer for the same modem. Ports are tried concurrently with a short limit, and
one block is printed per modem (by IMEI), on its first port that answered.
"""

from __future__ import annotations

import asyncio
import glob
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

__all__ = ["Found", "candidate_ports", "scan_ports", "render_blocks", "scan"]

BY_ID = Path("/dev/serial/by-id")
_FALLBACK = ("/dev/ttyUSB*", "/dev/ttyACM*")


@dataclass(frozen=True)
class Found:
    """A modem that answered, on its first port, with the others it also answers on."""

    port: str
    info: dict[str, Any]
    other_ports: tuple[str, ...] = field(default=())

    @property
    def imei(self) -> str | None:
        value = self.info.get("imei")
        return str(value) if value else None


def candidate_ports(by_id: Path = BY_ID) -> list[str]:
    """The stable /dev/serial/by-id names when there are any, else the raw tty nodes."""
    try:
        named = sorted(str(p) for p in by_id.iterdir())
    except OSError:
        named = []
    return named or sorted(p for pattern in _FALLBACK for p in glob.glob(pattern))


def scan_ports(ports: Iterable[str], *, timeout: float = 1.5) -> list[Found]:
    """Probe every port at once; the ports that answer AT, one per modem."""

    async def all_of() -> list[tuple[str, dict[str, Any] | None]]:
        names = list(ports)
        return list(zip(names, await asyncio.gather(*(_probe(p, timeout) for p in names)), strict=True))

    found: dict[str, Found] = {}
    for port, info in asyncio.run(all_of()):
        if info is None:
            continue
        key = str(info.get("imei") or port)
        if key in found:
            first = found[key]
            found[key] = Found(first.port, first.info, (*first.other_ports, port))
        else:
            found[key] = Found(port, info)
    return list(found.values())


def render_blocks(found: Iterable[Found]) -> str:
    """`[[modems]]` blocks for the modems found, with what was learned as comments."""
    blocks = []
    used: set[str] = set()
    for modem in found:
        info = modem.info
        ident = _modem_id(info, used)
        used.add(ident)
        signal = f"{info['signal_rssi']}/31" if info.get("signal_rssi") is not None else "unknown"
        lines = [
            f"# {info.get('manufacturer') or '?'} {info.get('model') or '?'}, SIM {info.get('pin') or '?'}, "
            f"network {info.get('registration') or '?'}, signal {signal}, SMSC {info.get('smsc') or 'none'}",
        ]
        if modem.imei:
            lines.append(f'# the same modem by IMEI, wherever it is plugged: port = "imei:{modem.imei}"')
        for other in modem.other_ports:
            lines.append(f"# also answers on {other} (use one port per modem)")
        lines += ["[[modems]]", f'id = "{ident}"', f'port = "{modem.port}"']
        if info.get("pin") == "SIM PIN":
            lines.append('# pin = "…"  # the SIM asks for its PIN: uncomment with it (three wrong ones lock the SIM)')
        if not info.get("smsc"):
            lines.append('# smsc = "+…"  # no SMS centre on the SIM: uncomment with your operator\'s')
        lines += ["sends_per_minute = 6", "burst = 2", "daily_cap = 300"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def scan(
    timeout: float = typer.Option(1.5, "--timeout", help="Seconds each port has to answer."),
) -> None:
    """Find modems on the serial ports (by-id names first) and print a settings block for each."""
    _print_scan(candidate_ports, timeout)


def _print_scan(candidates: Callable[[], list[str]], timeout: float) -> None:
    ports = candidates()
    if not ports:
        typer.echo("no serial ports found (is the modem plugged in? `lsusb`, `dmesg | tail`)", err=True)
        raise typer.Exit(code=1)
    found = scan_ports(ports, timeout=timeout)
    typer.echo(f"{len(ports)} port(s) tried, {len(found)} modem(s) answered AT", err=True)
    if not found:
        typer.echo("no port answered AT: run `modemgate doctor` (permissions, ModemManager)", err=True)
        raise typer.Exit(code=1)
    typer.echo(render_blocks(found), nl=False)


async def _probe(port: str, timeout: float) -> dict[str, Any] | None:
    from drivers.at.modem import ModemConfig, open_modem
    from drivers.at.probe import probe

    try:
        async with asyncio.timeout(timeout * 4):
            modem = await open_modem(port, ModemConfig(command_timeout=timeout, hang_after=1))
            try:
                return await probe(modem)
            finally:
                await modem.close()
    except Exception:  # silent, busy or not a modem at all: not a candidate
        return None


def _modem_id(info: dict[str, Any], used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", f"{info.get('manufacturer') or 'modem'}-{info.get('model') or ''}".lower())
    base = base.strip("-")[:28] or "modem"
    n = 1
    while f"{base}-{n}" in used:
        n += 1
    return f"{base}-{n}"
