"""The `modemgate` command line: one typer app, one module per command group."""

from __future__ import annotations

import typer

from cli import backup, initconfig, modems, pdu, scan, serve, simulate, users
from cli.doctor import doctor
from cli.systemd import app as service_app

app = typer.Typer(
    name="modemgate",
    help="Self-hosted SMS gateway for USB GSM modems.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(pdu.app, name="pdu")
app.command("simulate")(simulate.simulate)
modems.app.command("scan")(scan.scan)
app.add_typer(modems.app, name="modems")
app.command("serve")(serve.serve)
app.command("send")(serve.send)
app.add_typer(serve.apikey_app, name="apikey")
app.command("backup")(backup.backup)
app.command("doctor")(doctor)
app.command("init")(initconfig.init)
app.add_typer(service_app, name="service")
app.add_typer(users.app, name="user")


def main() -> None:
    app()
