"""`modemgate doctor`: each condition that stops a real gateway gives its verdict and fix —
over simulated modems on ptys, and from fake facts for what a test cannot make real."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from cli.doctor.checks import (
    DatabaseFacts,
    Facts,
    Holder,
    ModemFacts,
    PortFacts,
    Verdict,
    blocking,
    diagnose,
)
from cli.doctor.facts import gather
from drivers.at.locate import find_by_imei
from drivers.simulator.server import SimulatorThread, default_profile
from gateway.core.settings import ModemSettings, Settings
from harness.pgschema import POSTGRES_URL

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
HEALTHY_MODEM = ModemFacts("m1", False, True, pin="READY", registration="home", rssi=20, smsc="+31653131313")
HEALTHY = Facts(
    user="modemgate",
    ports=(
        PortFacts("m1", "/dev/serial/by-id/usb-HUAWEI_Mobile-if00-port0", "device", group="dialout", in_group=True),
    ),
    modems=(HEALTHY_MODEM,),
    database=DatabaseFacts("sqlite:///modemgate.db", True, None, 10 * 1024**3),
    public_url="https://sms.example.com",
    public_addresses=("93.184.216.34",),
    now=NOW,
    not_before=datetime(2026, 12, 1, tzinfo=UTC),
)


def _of(verdicts: list[Verdict], check: str) -> Verdict:
    return next(v for v in verdicts if v.check == check)


def test_a_healthy_box_passes_every_check() -> None:
    verdicts = diagnose(HEALTHY)
    assert {v.level for v in verdicts} == {"ok"}, [v.line() for v in verdicts]
    assert not blocking(verdicts)


@pytest.mark.parametrize(
    ("facts", "check", "level", "words", "fix"),
    [
        (  # an unreadable device node, the user not in its group
            replace(HEALTHY, ports=(replace(HEALTHY.ports[0], accessible=False, in_group=False),)),
            "port m1",
            "fail",
            "not readable and writable by modemgate",
            "usermod -aG dialout modemgate",
        ),
        (
            replace(HEALTHY, ports=(replace(HEALTHY.ports[0], exists=False),)),
            "port m1",
            "fail",
            "does not exist",
            "modems scan",
        ),
        (  # ModemManager holds the port
            replace(HEALTHY, ports=(replace(HEALTHY.ports[0], holders=(Holder(412, "ModemManager"),)),)),
            "port m1 free",
            "fail",
            "held by pid 412 (ModemManager)",
            "ID_MM_DEVICE_IGNORE",
        ),
        (  # /dev/ttyUSB2 moves between boots
            replace(
                HEALTHY,
                ports=(
                    replace(
                        HEALTHY.ports[0], port="/dev/ttyUSB2", stable_alias="/dev/serial/by-id/usb-HUAWEI-if00-port0"
                    ),
                ),
            ),
            "port m1 name",
            "warn",
            "after a reboot",
            'port = "/dev/serial/by-id/usb-HUAWEI-if00-port0"',
        ),
        (
            replace(HEALTHY, modems=(replace(HEALTHY_MODEM, smsc=None),)),
            "modem m1 SMSC",
            "fail",
            "no SMS centre",
            'smsc = "+…"',
        ),
        (
            replace(HEALTHY, modems=(replace(HEALTHY_MODEM, pin="SIM PIN"),)),
            "modem m1 PIN",
            "fail",
            "asks for its PIN",
            'pin = "…"',
        ),
        (
            replace(HEALTHY, modems=(replace(HEALTHY_MODEM, registration="denied"),)),
            "modem m1 network",
            "fail",
            "not registered (denied)",
            "barred",
        ),
        (
            replace(HEALTHY, modems=(replace(HEALTHY_MODEM, rssi=6),)),
            "modem m1 signal",
            "warn",
            "weak (6/31)",
            "antenna",
        ),
        (  # the database's disk is full
            replace(HEALTHY, database=DatabaseFacts("sqlite:///modemgate.db", True, None, 1024 * 1024)),
            "disk",
            "fail",
            "1 MB free",
            "free space",
        ),
        (
            replace(HEALTHY, database=DatabaseFacts("sqlite:///x.db", False, "attempt to write a readonly database")),
            "database",
            "fail",
            "readonly",
            "owner and mode",
        ),
        (
            replace(HEALTHY, public_url="http://127.0.0.1:8000", public_addresses=("127.0.0.1",)),
            "public_url",
            "warn",
            "loopback",
            "public_url =",
        ),
        (  # a Raspberry Pi without RTC, before NTP
            replace(HEALTHY, now=datetime(1970, 1, 1, tzinfo=UTC)),
            "clock",
            "fail",
            "before this installation",
            "set-ntp",
        ),
    ],
)
def test_each_condition_gives_its_verdict_and_fix(facts: Facts, check: str, level: str, words: str, fix: str) -> None:
    verdicts = diagnose(facts)
    verdict = _of(verdicts, check)
    assert (verdict.level, words in verdict.message, fix in verdict.fix) == (level, True, True), verdict.line()
    assert blocking(verdicts) == (level == "fail")


@pytest.fixture
def simulated(tmp_path: Path) -> Iterator[tuple[SimulatorThread, dict[str, str]]]:
    no_smsc = replace(default_profile(2), smsc="")  # a SIM without an SMS centre
    with SimulatorThread(3, pty=True, profiles=[default_profile(1), no_smsc, default_profile(3)]) as sim:
        ptys = {mid: ep.pty for mid, ep in sim.endpoints.items()}
        assert all(ptys.values())
        yield sim, ptys  # type: ignore[misc]


def test_doctor_over_simulated_modems_finds_the_held_port_and_the_missing_smsc(
    simulated: tuple[SimulatorThread, dict[str, str]], tmp_path: Path
) -> None:
    _, ptys = simulated
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    (by_id / "usb-SimModem_sim1-if00-port0").symlink_to(os.path.realpath(ptys["sim1"]))
    holder = subprocess.Popen(  # another program with sim3's port open (minicom, a second gateway)
        [
            sys.executable,
            "-c",
            f"import time; f = open({ptys['sim3']!r}, 'rb'); print('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'modemgate.db'}",
            public_url="https://sms.example.com",
            modems=[ModemSettings(id=mid, port=port) for mid, port in ptys.items()],
        )
        verdicts = diagnose(gather(settings, by_id=by_id, resolve=lambda host: ["93.184.216.34"]))
    finally:
        holder.kill()
        holder.wait()
    lines = "\n".join(v.line() for v in verdicts)
    assert _of(verdicts, "modem sim1 SMSC").level == "ok", lines
    assert _of(verdicts, "modem sim1 network").level == "ok", lines
    assert _of(verdicts, "port sim1 name").fix == f'port = "{by_id / "usb-SimModem_sim1-if00-port0"}"'
    assert _of(verdicts, "modem sim2 SMSC").level == "fail", lines
    held = _of(verdicts, "port sim3 free")
    assert held.level == "fail" and f"pid {holder.pid} (python" in held.message, lines
    assert not any(v.check.startswith("modem sim3") for v in verdicts)  # not probed while held
    assert blocking(verdicts)


def test_an_imei_port_is_looked_for_among_the_ports_and_judged_as_the_device_found(
    simulated: tuple[SimulatorThread, dict[str, str]], tmp_path: Path
) -> None:
    _, ptys = simulated
    candidates = sorted(ptys.values())
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'modemgate.db'}",
        public_url="https://sms.example.com",
        modems=[
            ModemSettings(id="moved", port=f"imei:{default_profile(1).imei}"),  # sim1, wherever it is now
            ModemSettings(id="gone", port="imei:490154203237518"),  # on none of the ports
        ],
    )
    facts = gather(
        settings,
        by_id=tmp_path,
        resolve=lambda host: ["93.184.216.34"],
        locate=lambda imei: asyncio.run(find_by_imei(imei, candidates, timeout=1.0)),
    )
    verdicts = diagnose(facts)
    lines = "\n".join(v.line() for v in verdicts)
    assert [p.port for p in facts.ports if p.modem_id == "moved"] == [ptys["sim1"]], lines
    assert _of(verdicts, "modem moved SMSC").level == "ok", lines
    gone = _of(verdicts, "port gone")
    assert gone.level == "fail" and "no serial port present answers" in gone.message, lines
    assert blocking(verdicts)


def test_doctor_command_exits_non_zero_when_sending_is_blocked(
    simulated: tuple[SimulatorThread, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, ptys = simulated
    config = tmp_path / "modemgate.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "m.db"}"\npublic_url = "https://sms.example.com"\n'
        f'[[modems]]\nid = "good"\nport = "{ptys["sim1"]}"\n'
    )
    done = CliRunner().invoke(app, ["doctor", "--config", str(config)])
    assert done.exit_code == 0, done.output
    assert "[ok  ] modem good SMSC" in done.output

    config.write_text(config.read_text() + f'[[modems]]\nid = "nosmsc"\nport = "{ptys["sim2"]}"\n')
    done = CliRunner().invoke(app, ["doctor", "--config", str(config)])
    assert done.exit_code == 1, done.output
    assert "[FAIL] modem nosmsc SMSC: no SMS centre on the SIM" in done.output


def test_a_read_only_database_is_found_by_writing_to_it(tmp_path: Path) -> None:
    from cli.doctor.facts import database_facts
    from gateway.core.db import create_engine_for, migrate

    url = f"sqlite:///{tmp_path / 'modemgate.db'}"
    engine = create_engine_for(url)
    migrate(engine)
    engine.dispose()
    assert database_facts(url, disk_free=lambda p: 10**9).writable
    # A server that takes no writes (a standby, or read-only by default).
    ro = (
        sa.engine.make_url(POSTGRES_URL)
        .update_query_dict({"options": "-cdefault_transaction_read_only=on"})
        .render_as_string(hide_password=False)
    )
    facts = database_facts(ro, disk_free=lambda p: 10**9)
    assert not facts.writable and "read-only" in (facts.error or ""), facts


def test_a_device_node_the_service_user_cannot_open_is_found(tmp_path: Path) -> None:
    import grp

    from cli.doctor.facts import account_of as account
    from cli.doctor.facts import port_facts

    master, slave = os.openpty()  # a real character device, as a USB modem's tty is
    try:
        node = os.ttyname(slave)
        os.chown(node, 0, grp.getgrnam("dialout").gr_gid)
        os.chmod(node, 0o660)  # crw-rw---- root:dialout, as udev makes /dev/ttyUSB*
        modem = ModemSettings(id="m1", port=node)
        as_nobody = port_facts(modem, aliases={}, account=account("nobody"))
        as_root = port_facts(modem, aliases={}, account=account("root"))
    finally:
        os.close(slave)
        os.close(master)
    assert (as_nobody.char_device, as_nobody.accessible, as_nobody.group, as_nobody.in_group) == (
        True,
        False,
        "dialout",
        False,
    )
    verdict = _of(diagnose(replace(HEALTHY, user="nobody", ports=(as_nobody,))), "port m1")
    assert verdict.level == "fail" and "usermod -aG dialout nobody" in verdict.fix
    assert as_root.accessible


@pytest.mark.parametrize(
    ("mode", "uid", "gid", "expected"),
    [(0o660, 0, 20, True), (0o600, 0, 20, False), (0o666, 0, 0, True), (0o600, 1000, 0, True), (0o640, 0, 20, False)],
)
def test_node_modes_are_read_as_the_kernel_reads_them(mode: int, uid: int, gid: int, expected: bool) -> None:
    from cli.doctor.facts import Account, may_read_write

    assert may_read_write(mode, uid, gid, Account("pi", 1000, frozenset({1000, 20}))) is expected
