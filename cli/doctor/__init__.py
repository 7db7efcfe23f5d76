"""`modemgate doctor`: is this machine ready to send? One line per check, with the fix."""

from __future__ import annotations

import typer

from cli.doctor.checks import blocking, diagnose


def doctor(
    config: str | None = typer.Option(None, "--config", help="TOML settings file (default ./modemgate.toml)."),
    user: str | None = typer.Option(
        None, "--user", help="Judge the ports for this user (the service's, e.g. modemgate) instead of the caller."
    ),
) -> None:
    """Check the serial ports (present, readable by this user, not held by ModemManager or
    another process, stable names), each modem (answers AT, PIN, registration, signal,
    SMSC), the database (writable, free disk), public_url and the clock. Run it as the user
    the service runs as, or as root with --user. Exit status 1 when something blocks sending."""
    from cli.doctor.facts import gather
    from cli.serve import _settings

    settings = _settings(config)
    try:
        facts = gather(settings, user=user)
    except KeyError:
        typer.echo(f"error: no user {user!r} on this machine", err=True)
        raise typer.Exit(code=2) from None
    verdicts = diagnose(facts)
    for verdict in verdicts:
        typer.echo(verdict.line())
    if blocking(verdicts):
        typer.echo("modemgate cannot send until the FAIL lines are fixed.", err=True)
        raise typer.Exit(code=1)
