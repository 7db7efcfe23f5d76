"""Modem personalities: each preset answers with its own identity, final result for
unknown commands and unsolicited noise, and our driver and gammu still work with it.

Driver tests run the real simulator on a pty with noise every 20 ms, so noise lines fall
between the driver's commands all through initialisation, sending and receiving.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from drivers import CommandError, ConfigError
from drivers.at.events import Urc
from drivers.at.link import ModemLink
from drivers.at.modem import Modem, ModemConfig
from drivers.simulator.personalities import PERSONALITIES, personality
from drivers.simulator.server import SimulatorThread, default_profile
from drivers.sms import SmsDeliver, SmsStatusReport, encode_submit
from harness.command import MODEMGATE
from tests.support.simulator import Line

pytestmark = pytest.mark.timeout(30)

FAST = ModemConfig(command_timeout=1.0, send_timeout=2.0, sim_ready_wait=2.0)
NOISE_INTERVAL = 0.02
RECIPIENT = "+31611111111"
SENDER = "+31622222222"
LONG_TEXT = "Noise between every command, and still every part arrives. " * 6

# What each model says about itself, as the driver reads it (AT+CGMI / CGMM / CGMR).
IDENTITY = {
    "huawei-e173": ("huawei", "E173", "11.126.85.00.209"),
    "huawei-e3372": ("huawei", "E3372", "21.180.01.00.00"),
    "simcom-sim800": ("SIMCOM_Ltd", "SIMCOM_SIM800", "1418B04SIM800L24"),
    "quectel-ec25": ("Quectel", "EC25", "EC25EFAR06A11M4G"),
    "simcom-sim800-cold": ("SIMCOM_Ltd", "SIMCOM_SIM800", "1418B04SIM800L24"),
}
# The presets with periodic unsolicited lines (the others' habits: tests/driver/test_driver_quirks.py).
CHATTY = [name for name in PERSONALITIES if personality(name).noise_urcs]


def noisy(name: str, **changes: object) -> SimulatorThread:
    """One simulated modem of preset `name` on a pty, with noise every 20 ms."""
    changes = {"noise_interval": NOISE_INTERVAL, **changes}
    profile = dataclasses.replace(default_profile(1, name), **changes)  # type: ignore[arg-type]
    return SimulatorThread(1, pty=True, profiles=[profile]).start()


@pytest.fixture
async def connect() -> AsyncIterator[Callable[..., object]]:
    """`await connect(name)`: the simulator, and our driver on it through `ModemLink`,
    with every URC the driver's parser hands over recorded."""
    opened: list[tuple[SimulatorThread, ModemLink]] = []

    async def make(name: str, **changes: object) -> tuple[SimulatorThread, Modem, list[Urc]]:
        sim = noisy(name, **changes)
        link = ModemLink(sim.endpoints["sim1"].pty or "", FAST, name=name)
        opened.append((sim, link))
        modem = await link.connect(attempts=1)
        urcs: list[Urc] = []
        handler = modem.channel._on_urc
        assert handler is not None

        def record(urc: Urc) -> None:
            urcs.append(urc)
            handler(urc)

        modem.channel.set_urc_handler(record)
        return sim, modem, urcs

    yield make
    for sim, link in opened:
        await link.close()
        sim.stop()


async def until(check: Callable[[], object], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.01)


def noise_seen(urcs: list[Urc], name: str) -> int:
    noise = set(personality(name).noise_urcs)
    return sum(u.line in noise for u in urcs)


@pytest.mark.parametrize("name", CHATTY)
async def test_driver_sends_and_receives_through_each_preset_while_noise_flows(
    connect: Callable[..., object], name: str
) -> None:
    sim, modem, urcs = await connect(name)  # type: ignore[misc]
    identity = modem.identity
    assert (identity.manufacturer, identity.model, identity.revision) == IDENTITY[name]

    await until(lambda: noise_seen(urcs, name) >= 2)
    sim.set_faults("sim1", report_delay=0.1)  # the driver waits for reports while noise flows
    parts = encode_submit(RECIPIENT, LONG_TEXT, status_report=True)
    async with modem.multipart():
        mrs = [await modem.send(part) for part in parts]
    assert len(parts) == 3 and mrs == [0, 1, 2]
    assert sim.messages() == [{"modem": "sim1", "recipient": RECIPIENT, "text": LONG_TEXT, "parts": 3}]

    before = noise_seen(urcs, name)
    sim.inbound("sim1", SENDER, "Hello through the noise")
    got = [await asyncio.wait_for(modem.next_incoming(), 2.0) for _ in range(len(parts) + 1)]
    reports = [i.sms for i in got if isinstance(i.sms, SmsStatusReport)]
    delivers = [i.sms for i in got if isinstance(i.sms, SmsDeliver)]
    assert sorted(r.message_reference for r in reports) == mrs
    assert {r.category for r in reports} == {"delivered"}
    assert [(d.number, d.text) for d in delivers] == [(SENDER, "Hello through the noise")]
    for item in got:
        await modem.acknowledge(item)

    assert noise_seen(urcs, name) > before  # noise came between the reads and deletes
    # Each of the preset's lines reaches the driver whole, as a URC, never as garbage.
    noise = set(personality(name).noise_urcs)
    await until(lambda: {u.line for u in urcs} >= noise)
    assert modem.channel.garbage_bytes == 0


@pytest.mark.parametrize(
    ("name", "changes", "command", "final"),
    [
        ("huawei-e3372", {"refuse": {"+CMMS"}}, "AT+CMMS=2", "COMMAND NOT SUPPORT"),
        ("huawei-e173", {}, "AT+QURCCFG?", "COMMAND NOT SUPPORT"),
        ("simcom-sim800", {}, "AT^CURC=0", "ERROR"),
        ("quectel-ec25", {}, "AT^ICCID", "ERROR"),
    ],
    ids=["huawei-refused", "huawei-unknown", "simcom-huawei-command", "quectel-huawei-command"],
)
async def test_refused_or_unknown_command_ends_with_the_presets_final_result(
    connect: Callable[..., object], name: str, changes: dict[str, object], command: str, final: str
) -> None:
    _, modem, _ = await connect(name, **changes)  # type: ignore[misc]
    with pytest.raises(CommandError, match=f"^{re.escape(final)}$"):
        await modem.channel.command(command, timeout=1.0)
    assert await modem.channel.command("AT", timeout=1.0) == []  # the line is still in step


async def test_huawei_multipart_without_cmms_sends_every_part(connect: Callable[..., object]) -> None:
    sim, modem, _ = await connect("huawei-e3372", refuse={"+CMMS"})  # type: ignore[misc]
    async with modem.multipart():
        mrs = [await modem.send(part) for part in encode_submit(RECIPIENT, LONG_TEXT)]
    assert mrs == [0, 1, 2]
    assert [m["text"] for m in sim.messages()] == [LONG_TEXT]


# --- noise never inside an answer (sans-IO, fake clock) -----------------------------------


NOISE = {"noise_urcs": ("^RSSI:20", "^MODE:5,4"), "noise_interval": 1.0}


def test_noise_comes_in_turn_on_an_idle_line(make_line: Callable[..., Line]) -> None:
    line = make_line(**NOISE)
    assert line.advance(3.0) == b"\r\n^RSSI:20\r\n\r\n^MODE:5,4\r\n\r\n^RSSI:20\r\n"


def test_no_noise_between_the_prompt_and_the_pdu(make_line: Callable[..., Line]) -> None:
    line = make_line(**NOISE)
    [part] = encode_submit(RECIPIENT, "hi")
    assert line.at(f"AT+CMGS={part.tpdu_length}") == b"\r\n> "
    assert line.advance(5.0) == b""  # the modem waits for the PDU; no noise meanwhile
    assert line.send(part.pdu + "\x1a") == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
    assert line.advance(1.0) == b"\r\n^RSSI:20\r\n"


def test_no_noise_while_an_answer_is_on_its_way(make_line: Callable[..., Line]) -> None:
    line = make_line(**NOISE)
    line.modem.set_faults({"slow": 2.5})
    assert line.at("AT+CSQ") == b""
    assert line.advance(2.5) == b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
    line.modem.clear_faults()
    assert line.advance(1.0) == b"\r\n^RSSI:20\r\n"


def test_no_noise_in_the_middle_of_a_typed_command(make_line: Callable[..., Line]) -> None:
    line = make_line(**NOISE)
    assert line.send("AT+CG") == b""
    assert line.advance(2.0) == b""
    assert line.send("MM\r") == b"\r\nE173\r\n\r\nOK\r\n"


def test_without_noise_knobs_nothing_is_scheduled(make_line: Callable[..., Line]) -> None:
    line = make_line()
    assert line.clock.pending == 0
    assert line.advance(60.0) == b""


def test_unknown_personality_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="known: huawei-e173, huawei-e3372, simcom-sim800, quectel-ec25"):
        personality("nokia-3310")


def test_presets_answer_ati_as_their_models_do(make_line: Callable[..., Line]) -> None:
    def ati(name: str) -> bytes:
        fields = dataclasses.asdict(personality(name))
        return make_line(**fields).at("ATI")

    assert ati("simcom-sim800") == b"\r\nSIM800 R14.18\r\n\r\nOK\r\n"
    assert ati("quectel-ec25") == b"\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A11M4G\r\n\r\nOK\r\n"
    assert ati("huawei-e3372").startswith(b"\r\nManufacturer: huawei\r\nModel: E3372\r\nRevision: 21.180.01.00.00\r\n")


# --- the CLI and gammu --------------------------------------------------------------------


def test_simulate_rejects_an_unknown_profile_in_one_line() -> None:
    command = [*MODEMGATE, "simulate", "--profile", "nokia-3310"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: unknown --profile 'nokia-3310'; known: huawei-e173, huawei-e3372, simcom-sim800, quectel-ec25, "
        "wavecom-multiband, nokia-phone, huawei-e3131, cinterion-mc75i, simcom-sim800-cold"
    ]


@pytest.mark.parametrize("profile", [[], ["--profile", "huawei-e3372"]], ids=["no-profile", "huawei"])
def test_simulate_takes_a_noise_interval_only_for_a_profile_with_noise(profile: list[str]) -> None:
    # Without a profile there is nothing to repeat; a bad number is refused by the option itself.
    command = [*MODEMGATE, "simulate", *profile, "--noise-every", "0" if profile else "0.5"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    if not profile:
        assert done.stderr.strip() == (
            "error: --noise-every needs a --profile that has periodic lines: "
            "huawei-e173, huawei-e3372, simcom-sim800, quectel-ec25, simcom-sim800-cold"
        )
    else:
        assert "--noise-every" in done.stderr


@pytest.fixture
def simulate_sim800() -> Iterator[str]:
    """`modemgate simulate --profile simcom-sim800 --pty`; yields the modem's pty."""
    proc = subprocess.Popen(
        [*MODEMGATE, "simulate", "--profile", "simcom-sim800", "--modems", "1", "--pty"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        fields = dict(item.split("=", 1) for item in first.split()[1:])
        assert "pty" in fields, f"modemgate simulate printed {first!r}"
        yield fields["pty"]
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


@pytest.mark.gammu
@pytest.mark.slow
def test_gammu_identifies_a_simcom_sim800(simulate_sim800: str, tmp_path: Path) -> None:
    gammu = shutil.which("gammu") or "/usr/bin/gammu"
    if not Path(gammu).exists():
        pytest.fail("gammu is not installed: run `apt-get install gammu`", pytrace=False)
    rc = tmp_path / "gammurc"
    rc.write_text(f"[gammu]\ndevice = {simulate_sim800}\nconnection = at\n")
    done = subprocess.run(
        [gammu, "-c", str(rc), "identify"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LC_ALL": "C.UTF-8"},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    shown = dict(re.findall(r"^(\w[\w ]*?)\s*:\s*(.*)$", done.stdout, re.MULTILINE))
    assert shown["Manufacturer"] == "SIMCOM_Ltd"
    assert "SIMCOM_SIM800" in shown["Model"]
    assert shown["Firmware"] == "Revision:1418B04SIM800L24"


def test_huawei_noise_also_comes_inside_the_next_answer(make_line: Callable[..., Line]) -> None:
    # After the echo and before the response lines, or after the PDU and before +CMGS: the
    # driver must take it as unsolicited, not as part of the answer.
    line = make_line(noise_in_answers=True, **NOISE)
    assert line.advance(1.0) == b"\r\n^RSSI:20\r\n"  # idle line: at once
    assert line.advance(1.0) == b""  # the next one waits for an answer
    assert line.at("AT+CSQ") == b"\r\n^MODE:5,4\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
    assert line.advance(2.0) == b"\r\n^RSSI:20\r\n"
    [part] = encode_submit(RECIPIENT, "hi")
    assert line.at(f"AT+CMGS={part.tpdu_length}") == b"\r\n> "
    assert line.send(part.pdu + "\x1a") == b"\r\n^MODE:5,4\r\n\r\n+CMGS: 0\r\n\r\nOK\r\n"
    assert line.modem.noise_sent == 4


# --- devices' habits (docs/modem-quirks.md) -------------------------------------------------


def habits(make_line: Callable[..., Line], name: str) -> Line:
    return make_line(**dataclasses.asdict(personality(name)))


def test_wavecom_answers_cpin_without_ok_and_takes_two_memories(make_line: Callable[..., Line]) -> None:
    line = habits(make_line, "wavecom-multiband")
    assert line.at("AT+CMEE=1") == b"\r\nOK\r\n"
    assert line.at("AT+CPIN?") == b"\r\n+CME ERROR: 515\r\n"  # still starting up
    line.advance(1.0)
    assert line.at("AT+CPIN?") == b"\r\n+CPIN: READY\r\n"  # and no final result
    assert line.at("AT+CPMS=?") == b'\r\n+CPMS: (("SM","BM","SR"),("SM"))\r\n\r\nOK\r\n'
    assert line.at('AT+CPMS="SM","SM","SM"') == b"\r\nERROR\r\n"
    assert line.at('AT+CPMS="SM","SM"') == b"\r\n+CPMS: 0,50,0,50\r\n\r\nOK\r\n"
    assert line.at("AT+CGMR") == b"\r\nERROR\r\n"
    assert line.at("AT+CFUN=1") == b"\r\nOK\r\n"
    assert line.at("AT+CSQ") == b"\r\n+CME ERROR: 515\r\n"  # busy again after AT+CFUN=1


def test_sim800_cold_answers_sim_busy_to_sim_commands_only(make_line: Callable[..., Line]) -> None:
    line = habits(make_line, "simcom-sim800-cold")
    line.at("AT+CMEE=1")
    assert line.at("AT+CPIN?") == b"\r\n+CME ERROR: 14\r\n"
    assert line.at("AT+CSQ").startswith(b"\r\n+CSQ: ")
    line.advance(1.0)
    assert line.at("AT+CPIN?") == b"\r\n+CPIN: READY\r\n\r\nOK\r\n"


def test_cinterion_refuses_bfr_0_with_538(make_line: Callable[..., Line]) -> None:
    line = habits(make_line, "cinterion-mc75i")
    line.at("AT+CMEE=1")
    assert line.at("AT+CNMI=?") == b"\r\n+CNMI: (0-3),(0-3),(0,2,3),(0-2),(1)\r\n\r\nOK\r\n"
    assert line.at("AT+CNMI=2,1,0,2,0") == b"\r\n+CMS ERROR: 538\r\n"
    assert line.at("AT+CNMI=2,1,0,2,1") == b"\r\nOK\r\n"


def test_nokia_answers_the_listing_with_a_plain_error(make_line: Callable[..., Line]) -> None:
    line = habits(make_line, "nokia-phone")
    line.at("AT+CMEE=1")
    assert line.at("AT+CMGL=4") == b"\r\nERROR\r\n"
    assert line.at("AT+CMGR=1") == b"\r\nOK\r\n"  # reading by index works


def test_e3131_slips_vendor_lines_into_its_answers_in_turn(make_line: Callable[..., Line]) -> None:
    line = make_line(echo=True, **dataclasses.asdict(personality("huawei-e3131")))
    assert line.at("ATE0") == b"ATE0\r\r\n^NWTIME: 18/03/09,12:36:21+4,00\r\n\r\nOK\r\n"
    assert line.at("AT+CGMI") == b"\r\n^RSSI:20\r\n\r\nhuawei\r\n\r\nOK\r\n"
    assert line.at("AT+CGMM") == b"\r\n^MODE:5,4\r\n\r\nE3131\r\n\r\nOK\r\n"


def test_simulate_wants_one_profile_or_one_per_modem() -> None:
    command = [*MODEMGATE, "simulate", "--modems", "3", "--profile", "nokia-phone", "--profile", "huawei-e173"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: 2 --profile options for 3 modems: give one, or one per modem"
