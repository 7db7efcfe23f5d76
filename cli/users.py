"""`modemgate user create NAME --role admin|marketer|viewer`: console accounts."""

from __future__ import annotations

import sys

import typer

from drivers import ConfigError
from gateway.core.settings import load_settings

app = typer.Typer(help="Manage console accounts.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="The user name to log in with."),
    role: str = typer.Option(
        ..., "--role", help="admin (everything), marketer (send, contacts, campaigns) or viewer (read only)."
    ),
    config: str | None = typer.Option(None, "--config"),
) -> None:
    """Create a console account. The password is asked for (twice) on a terminal, or read
    as the first line of standard input; only its scrypt hash is stored."""
    from gateway.core import accounts
    from gateway.core.db import create_engine_for, migrate, session
    from gateway.core.errors import InvalidInput
    from gateway.core.models import utcnow

    try:
        accounts.parse_role(role)
        settings = load_settings(config)
    except (InvalidInput, ConfigError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    engine = create_engine_for(settings.database_url)
    migrate(engine)
    try:
        with session(engine, write=True) as s:
            accounts.create_user(s, name, password, role, now=utcnow())
            s.commit()
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"user {name!r} created with role {role}; log in at the console's /login.", err=True)
