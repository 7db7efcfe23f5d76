"""`modemgate service install`: the systemd unit shipped with the package (`modemgate.service`),
written with the paths of this installation, and the commands that start it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app", "unit_template", "render_unit", "executable"]

app = typer.Typer(help="Run modemgate as a systemd service.", no_args_is_help=True)

_TEMPLATE_EXEC = "/usr/local/bin/modemgate"
_TEMPLATE_CONFIG = "/etc/modemgate/modemgate.toml"


def unit_template() -> str:
    return files("cli.systemd").joinpath("modemgate.service").read_text(encoding="utf-8")


def render_unit(template: str, *, exec_path: str, config: str, user: str) -> str:
    """The unit for an installation at `exec_path` reading `config`, run as `user`."""
    text = template.replace(_TEMPLATE_EXEC, exec_path).replace(_TEMPLATE_CONFIG, config)
    text = text.replace("User=modemgate", f"User={user}").replace("Group=modemgate", f"Group={user}")
    if exec_path.startswith(("/home/", "/root/")):
        # ProtectHome=yes would hide the installation itself from the service.
        text = text.replace("ProtectHome=yes", "ProtectHome=read-only")
    return text


def executable() -> str:
    """The `modemgate` command of the running installation."""
    beside = Path(sys.executable).parent / "modemgate"
    return str(beside if beside.exists() else Path(shutil.which("modemgate") or sys.argv[0]).resolve())


@app.command("install")
def install(
    config: Annotated[str, typer.Option("--config", help="The settings file the service reads.")] = _TEMPLATE_CONFIG,
    user: Annotated[str, typer.Option("--user", help="The system user the service runs as.")] = "modemgate",
    unit_dir: Annotated[Path, typer.Option("--unit-dir", help="Where unit files go.")] = Path("/etc/systemd/system"),
    print_only: Annotated[bool, typer.Option("--print", help="Print the unit instead of writing it.")] = False,
) -> None:
    """Write modemgate.service for this installation and print the commands that start it."""
    text = render_unit(unit_template(), exec_path=executable(), config=config, user=user)
    if print_only:
        typer.echo(text, nl=False)
        return
    target = unit_dir / "modemgate.service"
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"error: cannot write {target} ({exc.strerror}); run with sudo, or --print and copy it", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"wrote {target}", err=True)
    if shutil.which("systemd-analyze"):
        checked = subprocess.run(["systemd-analyze", "verify", str(target)], capture_output=True, text=True)
        typer.echo(("unit verified" if checked.returncode == 0 else checked.stderr.strip()), err=True)
    typer.echo(
        "\n".join(
            [
                "next, as root:",
                f"  useradd --system --home-dir /var/lib/modemgate --shell /usr/sbin/nologin --groups dialout {user}",
                f"  install -d -m 0750 -g {user} {Path(config).parent}   # then put modemgate.toml there",
                f"  sudo -u {user} {executable()} doctor --config {config}",
                "  systemctl daemon-reload",
                "  systemctl enable --now modemgate",
                "  journalctl -u modemgate -f",
            ]
        )
    )
