"""`modemgate modems scan` and `modemgate init` over simulated modems on ptys: the ports that
speak AT become [[modems]] blocks, a silent one is skipped, and the written settings start
the gateway, which sends."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app, initconfig, scan
from drivers.simulator.server import SimulatorThread
from gateway.core.settings import load_settings
from tests.support.api import running_api


@pytest.fixture
def by_id(tmp_path: Path) -> Iterator[Path]:
    """A /dev/serial/by-id of two simulated modems and one port that never answers (a
    stick's diagnostics or GPS interface)."""
    links = tmp_path / "by-id"
    links.mkdir()
    silent_master, silent = os.openpty()
    with SimulatorThread(2, pty=True) as sim:
        for i, (mid, endpoint) in enumerate(sim.endpoints.items()):
            assert endpoint.pty
            (links / f"usb-SimModem_{mid}-if0{i}-port0").symlink_to(os.path.realpath(endpoint.pty))
        (links / "usb-SimModem_sim1-if03-port0").symlink_to(os.ttyname(silent))
        yield links
    os.close(silent)
    os.close(silent_master)


def test_scan_prints_a_block_per_modem_and_skips_the_silent_port(by_id: Path, capsys: pytest.CaptureFixture) -> None:
    scan._print_scan(lambda: scan.candidate_ports(by_id), timeout=0.4)
    out = capsys.readouterr()
    assert "3 port(s) tried, 2 modem(s) answered AT" in out.err
    blocks = tomllib.loads(out.out)["modems"]
    assert [b["port"] for b in blocks] == [
        str(by_id / "usb-SimModem_sim1-if00-port0"),
        str(by_id / "usb-SimModem_sim2-if01-port0"),
    ]
    assert len({b["id"] for b in blocks}) == 2
    assert out.out.count('# the same modem by IMEI, wherever it is plugged: port = "imei:') == 2
    assert "if03" not in out.out


def test_init_writes_settings_that_start_the_gateway_and_send(
    by_id: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "modemgate.toml"
    initconfig._write(
        config,
        "NL",
        "https://sms.example.com",
        "sqlite:///modemgate.db",
        lambda: scan.candidate_ports(by_id),
        force=False,
        timeout=0.4,
    )
    text = config.read_text()
    assert text.startswith("# modemgate settings.")
    settings = load_settings(config)
    assert [m.port for m in settings.modems] == [
        str(by_id / "usb-SimModem_sim1-if00-port0"),
        str(by_id / "usb-SimModem_sim2-if01-port0"),
    ]
    with running_api(settings) as api:
        message = api.send("from the written settings")
        assert api.wait_delivered(message["id"])["status"] == "delivered"

    again = CliRunner().invoke(app, ["init", "--no-scan", "--output", str(config)])
    assert again.exit_code == 2 and "exists" in again.output  # an existing file is kept
    assert config.read_text() == text
