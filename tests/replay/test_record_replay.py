"""Recording an AT exchange (`modems probe --record`, the `record` setting) and answering
like the recording (`simulate --replay`, `sim://…?replay=`)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from drivers.at.recording import Entry, Recorder, parse_recording
from drivers.simulator.modem import SimulatedModem
from drivers.simulator.network import Network
from drivers.simulator.replay import Replay, load_replay
from drivers.simulator.server import SimulatorThread, default_profile
from drivers.sms import decode_pdu
from gateway.core.settings import ModemSettings, Settings
from harness.command import MODEMGATE
from tests.support.api import running_api

pytestmark = pytest.mark.timeout(60)


def entries(*lines: tuple[str, str]) -> list[Entry]:
    return [Entry(10 * i, d, text) for i, (d, text) in enumerate(lines)]  # type: ignore[arg-type]


# --- the recorder -------------------------------------------------------------------------


def test_recorder_writes_one_masked_line_per_line_each_way_with_its_time() -> None:
    sink = io.StringIO()
    now = [100.0]
    rec = Recorder(sink, monotonic=lambda: now[0])
    rec.sent(b"AT+CG")
    rec.sent(b"SN\r")
    now[0] = 100.25
    rec.received(b"\r\n3531420412")
    rec.received(b"34560\r\n\r\nOK\r\n")
    rec.sent(b"AT+CMGS=19\r")
    rec.received(b"\r\n> ")
    rec.sent(b"0011000B911356214365F70000AA05E8329BFD06\x1a")
    rec.close()
    got = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert got == [
        {"ms": 0, "dir": "out", "line": "AT+CGSN"},
        {"ms": 250, "dir": "in", "line": "35314XXXXXXXXXX"},
        {"ms": 250, "dir": "in", "line": "OK"},
        {"ms": 250, "dir": "out", "line": "AT+CMGS=19"},
        {"ms": 250, "dir": "in", "line": "> "},
        {"ms": 250, "dir": "out", "line": "0011000B911356010000F00000AA05E8329BFD06\x1a"},  # +31651…,
    ]
    assert [e.line for e in parse_recording(sink.getvalue().splitlines())][:2] == ["AT+CGSN", "35314XXXXXXXXXX"]


def test_a_malformed_recording_is_refused_with_its_line() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_recording(["# fine", '{"ms": 1, "dir": "sideways", "line": "AT"}'])


# --- which answer a command gets ----------------------------------------------------------

REPLAY = Replay(
    entries(
        ("out", "AT+CPIN?"),
        ("in", "+CME ERROR: 14"),
        ("out", "AT+CPIN?"),
        ("in", "+CPIN: READY"),  # and no OK, like a Wavecom
        ("out", "AT+CGMI"),
        ("in", "AT+CGMI"),  # echo
        ("in", " WAVECOM MODEM"),
        ("in", "OK"),
        ("in", "+WIND: 4"),  # idle, after the answer
        ("in", '+CMTI: "SM",3'),  # a message the simulator does not hold: not replayed
        ("out", 'AT+CPMS="SM","SM","SM"'),
        ("in", "ERROR"),
        ("out", 'AT+CPMS="SM","SM"'),
        ("in", "+CPMS: 0,50,0,50"),
        ("in", "OK"),
        ("out", "AT+CMGL=4"),
        ("in", "ERROR"),
        ("out", "AT+CMGS=20"),
        ("in", "> "),
        ("out", "00AA\x1a"),
        ("in", "+CMGS: 7"),
        ("in", "OK"),
        ("out", 'AT+CPIN="4321"'),
        ("in", "OK"),
    )
)


@pytest.mark.parametrize(
    ("command", "turn", "lines"),
    [
        ("AT+CPIN?", 0, ("+CME ERROR: 14",)),  # the n-th sending gets the n-th answer …
        ("AT+CPIN?", 1, ("+CPIN: READY",)),
        ("AT+CPIN?", 5, ("+CPIN: READY",)),  # … and the last one from then on
        ("at+cgmi", 0, (" WAVECOM MODEM", "OK")),  # echo left out; case does not matter
        ('AT+CPMS="SM","SM","SM"', 0, ("ERROR",)),  # refused: the refusal is replayed
        ('AT+CPMS="SM","SM"', 0, None),  # accepted: the simulator carries it out
        ("AT+CMGL=4", 0, ("ERROR",)),
        ("AT+CMGS=20", 0, None),  # messages always go through the simulated network
        ("AT+CSQ", 0, None),  # not in the recording: the simulator's own answer
        ('AT+CPIN="1234"', 0, None),  # PINs are masked alike, and an accepted one is carried out
    ],
)
def test_replay_answers_recorded_commands_and_leaves_state_and_messages_to_the_simulator(
    command: str, turn: int, lines: tuple[str, ...] | None
) -> None:
    answer = REPLAY.decide(command, turn)
    assert (answer.lines if answer else None) == lines


def test_replay_keeps_idle_lines_but_not_message_indications() -> None:
    answer = REPLAY.decide("AT+CGMI", 0)
    assert answer is not None and answer.after == ("+WIND: 4",)


def test_the_simulated_modem_sends_the_recorded_bytes_missing_ok_included() -> None:
    later: list[tuple[float, object]] = []
    modem = SimulatedModem(
        "m1",
        Network(lambda d, fn: later.append((d, fn))),
        profile=default_profile(1, replay=REPLAY),
        call_later=lambda d, fn: later.append((d, fn)),
    )
    out = bytearray()
    modem.attach(out.extend)

    def run(line: bytes) -> bytes:
        out.clear()
        modem.feed(line)
        while later:
            _, fn = later.pop(0)
            fn()  # type: ignore[operator]
        return bytes(out)

    assert run(b"ATE0\r") == b"ATE0\r\r\nOK\r\n"  # not recorded: the simulator's
    assert run(b"AT+CPIN?\r") == b"\r\n+CME ERROR: 14\r\n"
    assert run(b"AT+CPIN?\r") == b"\r\n+CPIN: READY\r\n"  # no final result, as recorded
    assert run(b"AT+CGMI\r") == b"\r\n WAVECOM MODEM\r\n\r\nOK\r\n\r\n+WIND: 4\r\n"
    assert run(b"AT+CGMM\r") == b"\r\nE173\r\n\r\nOK\r\n"  # not recorded: the simulator's default


# --- record from the simulator, replay into it --------------------------------------------


def probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MODEMGATE, "modems", "probe", *args], capture_output=True, text=True, timeout=30)


def fields(stdout: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in stdout.splitlines())}


@pytest.mark.slow  # three processes: about 5 s
def test_a_recording_of_the_simulator_replays_to_the_same_probe_output(tmp_path: Path) -> None:
    recording = tmp_path / "modem.jsonl"
    profile = default_profile(3, "quectel-ec25")
    with SimulatorThread(1, pty=True, profiles=[profile]) as sim:
        port = sim.endpoints["sim1"].pty
        assert port is not None
        original = probe(port, "--record", str(recording))
    assert original.returncode == 0, original.stderr
    text = recording.read_text()
    assert profile.imei not in text and profile.imsi not in text and profile.number[3:] not in text

    # The replaying simulator, as a user runs it, on TCP this time.
    proc = subprocess.Popen(
        [*MODEMGATE, "simulate", "--modems", "1", "--tcp", "127.0.0.1:0", "--replay", str(recording)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = next(f.split("=", 1)[1] for f in line.split() if f.startswith("tcp="))
        replayed = probe(url)
    finally:
        proc.terminate()
        proc.wait(10)
    assert replayed.returncode == 0, replayed.stderr
    before, after = fields(original.stdout), fields(replayed.stdout)
    before.pop("Port"), after.pop("Port")
    # The same, with the identifiers masked as the recording has them.
    assert before.pop("IMEI") == profile.imei and after.pop("IMEI") == profile.imei[:5] + "X" * 10
    assert before.pop("SIM IMSI") == profile.imsi and after.pop("SIM IMSI") == profile.imsi[:5] + "X" * 10
    smsc_before, smsc_after = before.pop("SMSC"), after.pop("SMSC")
    assert smsc_after == smsc_before[:6] + "X" * (len(smsc_before) - 6)
    assert after == before
    assert after["Manufacturer"] == "Quectel" and after["Model"] == "EC25"


def test_simulate_refuses_a_file_that_is_no_recording(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("AT+CGMI\n")
    result = subprocess.run([*MODEMGATE, "simulate", "--replay", str(bad)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "not a recording entry" in result.stderr and "line 1" in result.stderr


def test_load_replay_reads_the_recordings_shipped_with_the_tests() -> None:
    path = Path(__file__).resolve().parent.parent / "recordings" / "wavecom-multiband.jsonl"
    replay = load_replay(path)
    assert replay.first_line("AT+CGMM") == "MULTIBAND  900E  1800"
    cpin = replay.decide("AT+CPIN?", 0)
    assert cpin is not None and cpin.final is None


def test_the_record_setting_records_what_serve_says_to_the_modem(tmp_path: Path) -> None:
    recording = tmp_path / "m1.jsonl"
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'gw.db'}",
        default_region="NL",
        modems=[ModemSettings(id="m1", port="sim://m1", record=str(recording), sends_per_minute=600, burst=10)],
    )
    with running_api(settings) as api:
        api.wait_delivered(api.send("recorded send", to="+31612345678")["id"])
    text = recording.read_text()
    sent = [e for e in parse_recording(text.splitlines()) if e.direction == "out"]
    commands = [e.line for e in sent]
    assert "AT+CMGF=0" in commands and any(c.startswith("AT+CMGS=") for c in commands)
    pdu = next(e.line for e in sent if e.line.endswith("\x1a"))
    assert decode_pdu(pdu[:-1]).number == "+31612000000"  # type: ignore[union-attr]
    imei = default_profile(1).imei
    assert imei not in text and "12345678" not in text
    assert text.startswith("# modemgate recording: socket://127.0.0.1:")
