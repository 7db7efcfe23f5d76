"""`modemgate doctor`: is this machine ready to send? One line per check, with the fix."""

from __future__ import annotations

import typer

from cli.doctor.checks import blocking, diagnose


def doctor(
    config: str | None = typer.Option(None, "--config", help="TOML settings file (default ./modemgate.toml)."),
) -> None:
    """Check the serial ports (present, readable by this user, not held by ModemManager or
    another process, stable names), each modem (answers AT, PIN, registration, signal,
    SMSC), the database (writable, free disk), public_url and the clock. Run it as the user
    the service runs as. Exit status 1 when something blocks sending."""
    from cli.doctor.facts import gather
    from cli.serve import _settings

    verdicts = diagnose(gather(_settings(config)))
    for verdict in verdicts:
        typer.echo(verdict.line())
    if blocking(verdicts):
        typer.echo("modemgate cannot send until the FAIL lines are fixed.", err=True)
        raise typer.Exit(code=1)
