"""`modemgate modems probe PORT` as a user runs it, against simulated modems on a real pty
and a real TCP port."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import time
from collections.abc import Callable

import pytest

from drivers.simulator.server import SimulatorThread, default_profile
from harness.command import MODEMGATE
from tests.support.driver import both_transports, url_of

pytestmark = pytest.mark.timeout(60)

PROFILE = default_profile(1)


def probe(*args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MODEMGATE, "modems", "probe", *args], capture_output=True, text=True, timeout=timeout)


def fields(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        label, _, value = line.partition(":")
        out[label.strip()] = value.strip()
    return out


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # type: ignore[no-any-return]


@both_transports
def test_probe_prints_identity_sim_signal_registration_and_smsc(sim: SimulatorThread, transport: str) -> None:
    url = url_of(sim, transport)
    result = probe(url)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    got = fields(result.stdout)
    assert got["Port"] == url
    assert got["Manufacturer"] == "huawei"
    assert got["Model"] == "E173"
    assert got["Firmware"] == PROFILE.revision
    assert got["IMEI"] == PROFILE.imei
    assert got["SIM IMSI"] == PROFILE.imsi
    assert got["PIN state"] == "READY"
    assert got["Signal"] == "20/31 (-73 dBm)"
    assert got["Registration"] == "home"
    assert got["SMSC"] == sim.sim.network.smsc  # type: ignore[union-attr]
    assert got["Status reports"] == "yes (AT+CNMI=2,1,0,2,0)"  # what it offers, not set
    # Looking changes nothing: no routing set, nothing sent, deleted or reconfigured.
    seen = sim.call(lambda: list(sim.sim.modems["sim1"].commands_seen))  # type: ignore[union-attr]
    changes = ("AT+CNMI=", "AT+CMGS", "AT+CMGD", "AT+CSCA=", "AT+CPMS=")
    assert not [c for c in seen if c.startswith(changes) and not c.endswith("=?")]  # asking what is offered is fine
    assert sim.received() == []


def test_probe_json_is_one_parseable_object(sim: SimulatorThread) -> None:
    url = url_of(sim, "pty")
    result = probe(url, "--json")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1
    info = json.loads(result.stdout)
    assert info["port"] == url
    assert (info["manufacturer"], info["model"], info["imei"], info["imsi"]) == (
        "huawei",
        "E173",
        PROFILE.imei,
        PROFILE.imsi,
    )
    assert (info["pin"], info["signal_rssi"], info["signal_dbm"], info["registration"]) == ("READY", 20, -73, "home")
    assert info["smsc"] == sim.sim.network.smsc  # type: ignore[union-attr]


def test_probe_reports_a_locked_sim_and_unlocks_it_only_with_pin(make_sim: Callable) -> None:
    sim = make_sim(profiles=[dataclasses.replace(PROFILE, pin="4321")])
    url = url_of(sim, "pty")
    locked = probe(url, "--json")
    assert locked.returncode == 0, locked.stderr
    info = json.loads(locked.stdout)
    assert (info["pin"], info["imsi"], info["smsc"]) == ("SIM PIN", None, None)
    assert info["imei"] == PROFILE.imei  # the modem itself still answers
    unlocked = json.loads(probe(url, "--json", "--pin", "4321").stdout)
    assert (unlocked["pin"], unlocked["imsi"]) == ("READY", PROFILE.imsi)


@pytest.mark.parametrize(
    "port",
    [f"socket://127.0.0.1:{closed_port()}", "/dev/modemgate-no-such-tty"],
    ids=["refused-tcp", "missing-device"],
)
def test_unreachable_port_exits_2_with_a_one_line_error(port: str) -> None:
    result = probe(port)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: cannot open {port}: ")
    assert lines[0].count(port) == 1  # the reason, not pyserial restating the port
    assert "Traceback" not in result.stderr


def test_port_that_never_answers_exits_2_quickly(sim: SimulatorThread) -> None:
    sim.set_faults("sim1", hang=True)
    start = time.monotonic()
    result = probe(url_of(sim, "tcp"), "--timeout", "0.3")
    assert result.returncode == 2
    assert time.monotonic() - start < 10
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and "no answer" in line
