"""The `modemgate` command line: one typer app, one module per command group."""

from __future__ import annotations

import typer

from gateway.cli import modems, pdu, simulate

app = typer.Typer(
    name="modemgate",
    help="Self-hosted SMS gateway for USB GSM modems.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(pdu.app, name="pdu")
app.command("simulate")(simulate.simulate)
app.add_typer(modems.app, name="modems")


@app.command()
def serve(
    config: str | None = typer.Option(None, "--config", help="TOML settings file."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
) -> None:
    """Run the HTTP API and the dispatcher in one process."""
    typer.echo(
        "modemgate serve: the gateway (outbox, dispatcher, HTTP API) is not built yet.\n"
        "Available now: `modemgate pdu encode|decode|estimate`.",
        err=True,
    )
    raise typer.Exit(code=1)


def main() -> None:
    app()
