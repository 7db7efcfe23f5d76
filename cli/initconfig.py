"""`modemgate init`: write a commented modemgate.toml, with the modems a scan finds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from cli.scan import Found, candidate_ports, render_blocks, scan_ports

__all__ = ["render_config", "init"]

_EXAMPLE_MODEM = """\
# No modem answered the scan. A block per modem, e.g.:
# [[modems]]
# id = "huawei-1"
# port = "/dev/serial/by-id/usb-HUAWEI_Mobile-if00-port0"
# pin = "1234"
# sends_per_minute = 6
# Without any [[modems]], two simulated modems run (for trying things out).
"""


def render_config(found: list[Found], *, database_url: str, region: str, public_url: str, host: str, port: int) -> str:
    """The text of a commented modemgate.toml."""
    modems = render_blocks(found) if found else _EXAMPLE_MODEM
    return f"""\
# modemgate settings. Every key can also be set as MODEMGATE_<KEY> in the environment.
# `modemgate doctor` checks this file against the machine.

# Where messages are kept: a SQLite file (back it up with `modemgate backup FILE`),
# or postgresql+psycopg://user@host/db for several gateways on one database.
database_url = "{database_url}"

# The country of numbers written without +country code (ISO 3166 code).
default_region = "{region}"

# Where the API listens. Behind a reverse proxy keep 127.0.0.1.
host = "{host}"
port = {port}

# The address phones reach for tracked links in messages (not loopback in production).
public_url = "{public_url}"

{modems}
[webhooks]
# Webhooks, callbacks and Kannel dlr-url go only to public addresses, unless allowed here:
# allow_networks = ["10.20.0.0/16"]
allow_networks = []
"""


def init(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the settings.")] = Path(
        "modemgate.toml"
    ),
    region: str = typer.Option("NL", "--region", help="Country of numbers given without +country code."),
    public_url: str = typer.Option("http://127.0.0.1:8000", "--public-url"),
    database_url: str = typer.Option("sqlite:///modemgate.db", "--database-url"),
    scan_modems: bool = typer.Option(True, "--scan/--no-scan", help="Probe the serial ports for modems."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
) -> None:
    """Write a commented modemgate.toml; with --scan (the default) it holds a modems block
    block for every modem found on the serial ports."""
    _write(output, region, public_url, database_url, candidate_ports if scan_modems else list, force)


def _write(
    output: Path,
    region: str,
    public_url: str,
    database_url: str,
    candidates: Callable[[], list[str]],
    force: bool,
    timeout: float = 1.5,
) -> None:
    if output.exists() and not force:
        typer.echo(f"error: {output} exists; --force replaces it", err=True)
        raise typer.Exit(code=2)
    ports = candidates()
    found = scan_ports(ports, timeout=timeout) if ports else []
    text = render_config(
        found, database_url=database_url, region=region.upper(), public_url=public_url, host="127.0.0.1", port=8000
    )
    from cli.serve import _settings

    output.write_text(text, encoding="utf-8")
    _settings(str(output))  # what was written loads, or the error says why
    typer.echo(f"wrote {output}: {len(found)} modem(s) from {len(ports)} port(s) tried", err=True)
    typer.echo("next: modemgate doctor, then modemgate serve", err=True)
