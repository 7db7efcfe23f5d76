"""`modemgate backup FILE`: a consistent copy of the database while the gateway runs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from cli.serve import _settings


def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the copy (replaced if it exists).")],
    config: str | None = typer.Option(None, "--config", help="TOML settings file."),
) -> None:
    """Copy the database to FILE without stopping the gateway.

    SQLite: the online backup API; every message accepted before the copy began is in it.
    Restore by stopping the gateway and putting the copy in place of the database file
    (docs/deployment.md). PostgreSQL: runs `pg_dump --format=custom` when it is installed,
    else prints the command to run."""
    import sqlalchemy as sa

    from gateway.core.backup import backup_sqlite, pg_dump_command, sqlite_path

    settings = _settings(config)
    source = sqlite_path(settings.database_url)
    if source is not None:
        try:
            result = backup_sqlite(source, file)
        except Exception as exc:  # OSError, sqlite3.Error: say what failed, exit 1
            typer.echo(f"error: backup of {source} to {file} failed: {exc}", err=True)
            raise typer.Exit(code=1) from None
        typer.echo(f"backed up {source} to {result.path}: {result.bytes} bytes, {result.messages} messages")
        return
    url = sa.engine.make_url(settings.database_url)
    command = pg_dump_command(settings.database_url, file)
    if shutil.which("pg_dump") is None:
        typer.echo(
            "PostgreSQL: install pg_dump (Debian: apt-get install postgresql-client) and run\n  "
            + " ".join(command)
            + "\nRestore into an empty database with: pg_restore --dbname=<db> --no-owner "
            + str(file),
            err=True,
        )
        raise typer.Exit(code=1)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(command, env=env, check=False)
    if done.returncode != 0:
        typer.echo(f"error: pg_dump exited with status {done.returncode}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"backed up {url.render_as_string(hide_password=True)} to {file} (pg_dump custom format)")
