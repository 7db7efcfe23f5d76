"""The systemd unit: shipped in the package, written for this installation by `modemgate
service install`, and accepted by `systemd-analyze verify`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from cli.systemd import executable, render_unit, unit_template


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is needed (Debian: systemd); .ci/run installs it")
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)


def test_installed_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    done = CliRunner().invoke(
        app, ["service", "install", "--unit-dir", str(tmp_path), "--config", "/etc/modemgate/modemgate.toml"]
    )
    assert done.exit_code == 0, done.output
    assert "systemctl enable --now modemgate" in done.output
    unit = tmp_path / "modemgate.service"
    text = unit.read_text()
    assert f"ExecStart={executable()} serve --config /etc/modemgate/modemgate.toml" in text
    checked = _verify(unit)
    assert (checked.returncode, checked.stderr) == (0, ""), checked.stderr


def test_the_unit_keeps_the_serial_devices_reachable_and_restarts() -> None:
    lines = set(unit_template().splitlines())
    assert {"SupplementaryGroups=dialout", "DeviceAllow=char-ttyUSB rw", "DeviceAllow=char-ttyACM rw"} <= lines
    assert {"DevicePolicy=closed", "ProtectSystem=strict", "NoNewPrivileges=yes", "Restart=always"} <= lines


def test_a_broken_unit_fails_verification(tmp_path: Path) -> None:
    unit = tmp_path / "modemgate.service"
    unit.write_text(render_unit(unit_template(), exec_path="/nonexistent/modemgate", config="/x.toml", user="mg"))
    assert _verify(unit).returncode != 0


def test_an_installation_in_a_home_directory_stays_visible_to_the_service() -> None:
    text = render_unit(unit_template(), exec_path="/home/pi/venv/bin/modemgate", config="/x.toml", user="pi")
    assert "ProtectHome=read-only" in text and "User=pi" in text
