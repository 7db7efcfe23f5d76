"""gammu, an independent AT client, against `modemgate simulate --pty`: the differential
test of the simulator (see STYLE.md). Every command has to succeed, show the values the
simulator holds, and what gammu sends has to arrive at the simulated network unchanged.

gammu waits 0.4 s after every command it writes, so one invocation takes 3–4 s. The
module starts one simulator with a modem per gammu session and runs the sessions side
by side in threads; each test waits for its own session's result.

gammu is not optional: CI installs it (`apt-get install gammu`), and a missing gammu
fails these tests rather than skipping them.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from drivers.simulator.server import default_profile
from harness.command import MODEMGATE

pytestmark = [pytest.mark.gammu, pytest.mark.slow]

SINGLE = "Price {EUR}: 5€ [ok] |^\\ back"  # GSM-7 with extension characters
MULTI = "Привет, мир! 😀 Съешь же ещё этих мягких французских булок, да выпей чаю. 🥐☕ " * 2
INBOUND_SINGLE = "Hello from the network {ok} €5"
INBOUND_LONG = "Здравствуй, мир! 🌍 Это длинное сообщение из сети, в трёх частях. " * 2
INBOUND_SENDER = "+31699999999"
LONG_SENDER = "+31688888888"

INSTALL_HINT = "gammu is not installed: run `apt-get install gammu` (CI installs it; these tests do not skip)"


def gammu_binary() -> str:
    path = shutil.which("gammu") or ("/usr/bin/gammu" if Path("/usr/bin/gammu").exists() else None)
    if path is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return path


@dataclass
class Run:
    """One finished gammu invocation."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    log: Path

    def succeeded(self) -> Run:
        if self.returncode != 0:
            log = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else "(no log)"
            raise AssertionError(
                f"gammu {' '.join(self.args)} exited {self.returncode}\n"
                f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}\nlog tail:\n{log}"
            )
        return self


class Session:
    """The simulator process plus one gammu session per modem, running concurrently."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.gammu = gammu_binary()
        self.journal = tmp / "journal.jsonl"
        self.modems: dict[str, dict[str, str]] = {}
        self.proc: subprocess.Popen[str] | None = None
        self.control = ""
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="gammu")
        self.sessions: dict[str, Future[list[Run]]] = {}

    # --- simulator -------------------------------------------------------------------

    def start(self, modems: int) -> None:
        with closing(socket.socket()) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.control = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [
                *MODEMGATE,
                "simulate",
                "--modems",
                str(modems),
                "--pty",
                "--journal",
                str(self.journal),
                "--control",
                f"127.0.0.1:{port}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        for _ in range(modems):
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"modemgate simulate stopped: {self.proc.communicate(timeout=5)}")
            first, *rest = line.split()
            self.modems[first] = dict(item.split("=", 1) for item in rest)
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(self.control + "/modems", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = httpx.post(self.control + path, json=body, timeout=5)
        r.raise_for_status()
        return r.json()

    def stop(self) -> int | None:
        for future in self.sessions.values():
            future.exception()  # wait for every gammu to be done with its pty
        self._pool.shutdown()
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    # --- gammu -------------------------------------------------------------------------

    def spawn(self, modem_id: str, *commands: list[str], before: Callable[[], object] | None = None) -> None:
        """Run gammu `commands` one after another on `modem_id`, in the background."""
        rc = self.tmp / f"gammurc-{modem_id}"
        log = self.tmp / f"gammu-{modem_id}.log"
        rc.write_text(
            f"[gammu]\ndevice = {self.modems[modem_id]['pty']}\nconnection = at\nlogformat = textall\nlogfile = {log}\n"
        )

        def session() -> list[Run]:
            if before is not None:
                before()
            runs = []
            for args in commands:
                done = subprocess.run(
                    [self.gammu, "-c", str(rc), *args],
                    capture_output=True,
                    text=True,
                    env={"PATH": "/usr/bin:/bin", "HOME": str(self.tmp), "LC_ALL": "C.UTF-8"},
                    timeout=90,
                )
                runs.append(Run(args, done.returncode, done.stdout, done.stderr, log))
            return runs

        self.sessions[modem_id] = self._pool.submit(session)

    def runs(self, modem_id: str) -> list[Run]:
        return self.sessions[modem_id].result(timeout=120)

    def journal_entries(self, modem_id: str) -> list[dict[str, Any]]:
        lines = self.journal.read_text(encoding="utf-8").splitlines() if self.journal.exists() else []
        return [e for e in map(json.loads, lines) if e["modem"] == modem_id]


@pytest.fixture(scope="module")
def gammu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    session = Session(tmp_path_factory.mktemp("gammu"))
    try:
        session.start(modems=7)
        session.spawn("sim1", ["identify"])
        session.spawn("sim2", ["getsecuritystatus"], ["getsmsc"])
        session.spawn("sim3", ["networkinfo"])
        session.spawn("sim4", ["sendsms", "TEXT", "+31611111111", "-text", SINGLE])
        session.spawn("sim5", ["sendsms", "TEXT", "+31622222222", "-unicode", "-autolen", "400", "-text", MULTI])

        def inject() -> None:
            session.post("/inbound", {"modem": "sim6", "sender": INBOUND_SENDER, "text": INBOUND_SINGLE})
            session.post("/inbound", {"modem": "sim6", "sender": LONG_SENDER, "text": INBOUND_LONG})

        session.spawn("sim6", ["getallsms"], ["geteachsms"], before=inject)
        session.spawn(
            "sim7",
            ["getsecuritystatus"],
            ["entersecuritycode", "PIN", "1234"],
            ["getsecuritystatus"],
            before=lambda: session.post("/faults", {"modem": "sim7", "pin_required": True}),
        )
        yield session
    finally:
        code = session.stop()
    assert code == 0, "modemgate simulate did not exit cleanly on SIGTERM"


def field(output: str, name: str) -> str:
    m = re.search(rf"^{re.escape(name)}\s*:\s*(.*)$", output, re.MULTILINE)
    assert m, f"no {name!r} in gammu output:\n{output}"
    return m.group(1).strip()


def joined(entries: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    """Journal parts joined by concatenation reference, ordered by sequence number."""
    groups: dict[tuple[str, int], dict[int, str]] = {}
    for e in entries:
        concat = e["concat"] or {"ref": -1, "seq": 1, "total": 1}
        groups.setdefault((e["recipient"], concat["ref"]), {})[concat["seq"]] = e["text"]
    return {key: "".join(parts[i] for i in sorted(parts)) for key, parts in groups.items()}


def test_gammu_is_installed() -> None:
    gammu_binary()


def test_identify_shows_maker_model_firmware_imei_and_imsi(gammu: Session) -> None:
    [run] = gammu.runs("sim1")
    out = run.succeeded().stdout
    profile = default_profile(1)
    assert field(out, "Manufacturer").lower() == profile.manufacturer
    assert field(out, "Model").startswith(profile.model)
    assert field(out, "Firmware") == profile.revision
    assert field(out, "IMEI") == profile.imei
    assert field(out, "SIM IMSI") == profile.imsi


def test_getsecuritystatus_has_nothing_to_enter(gammu: Session) -> None:
    run = gammu.runs("sim2")[0]
    assert "Nothing to enter." in run.succeeded().stdout


def test_getsmsc_reads_the_service_centre(gammu: Session) -> None:
    run = gammu.runs("sim2")[1]
    assert field(run.succeeded().stdout, "Number") == '"+31653131313"'


def test_networkinfo_shows_home_network_operator_and_gprs(gammu: Session) -> None:
    [run] = gammu.runs("sim3")
    out = run.succeeded().stdout
    assert field(out, "Network state") == "home network"
    assert field(out, "Network").startswith("204 08")
    assert "LAC 0A1B, CID 3799B" in field(out, "Network")
    assert field(out, "Name in phone") == '"SimNet"'
    assert field(out, "GPRS") == "attached"


def test_sendsms_with_gsm_extension_characters_arrives_exactly(gammu: Session) -> None:
    [run] = gammu.runs("sim4")
    assert "OK, message reference=0" in run.succeeded().stdout
    [entry] = gammu.journal_entries("sim4")
    assert entry["text"] == SINGLE
    assert (entry["recipient"], entry["encoding"], entry["concat"]) == ("+31611111111", "gsm7", None)
    assert entry["sender"] == default_profile(4).number
    assert entry["smsc"] == "+31653131313"  # gammu puts the SMSC it read with AT+CSCA? in the PDU


def test_sendsms_unicode_multipart_arrives_exactly_when_joined(gammu: Session) -> None:
    [run] = gammu.runs("sim5")
    out = run.succeeded().stdout
    entries = gammu.journal_entries("sim5")
    total = len(entries)
    assert total >= 2
    assert f"Sending SMS {total}/{total}" in out
    assert [e["message_reference"] for e in entries] == list(range(total))
    assert {e["encoding"] for e in entries} == {"ucs2"}
    assert {e["concat"]["total"] for e in entries} == {total}
    assert joined(entries) == {("+31622222222", entries[0]["concat"]["ref"]): MULTI}


def parse_listing(output: str) -> list[dict[str, Any]]:
    """Messages of `gammu getallsms` / `geteachsms`: header fields and the text line."""
    out = []
    for block in re.split(r"^(?=Location \d+, folder)", output, flags=re.MULTILINE):
        if not block.startswith("Location") or "SMS message" not in block:
            continue
        lines = block.split("\n")
        blank = lines.index("")
        entry: dict[str, Any] = {"text": lines[blank + 1]}
        for line in lines[:blank]:
            name, sep, value = line.partition(" : ")
            if sep:
                entry[name.strip()] = value.strip()
        udh = re.search(r"ID \(8 bit\) (\d+), part (\d+) of (\d+)", entry.get("User Data Header", ""))
        entry["part"] = (int(udh[1]), int(udh[2]), int(udh[3])) if udh else None
        out.append(entry)
    return out


def test_getallsms_shows_injected_single_and_concatenated_messages(gammu: Session) -> None:
    run = gammu.runs("sim6")[0].succeeded()
    messages = parse_listing(run.stdout)
    single = [m for m in messages if m["Remote number"] == f'"{INBOUND_SENDER}"']
    assert [m["text"] for m in single] == [INBOUND_SINGLE]
    assert single[0]["Coding"].startswith("Default GSM alphabet")
    parts = [m for m in messages if m["Remote number"] == f'"{LONG_SENDER}"']
    assert len(parts) >= 2 and all(m["part"] for m in parts)
    assert {m["part"][2] for m in parts} == {len(parts)}
    assert "".join(m["text"] for m in sorted(parts, key=lambda m: m["part"][1])) == INBOUND_LONG
    assert all(m["Coding"].startswith("Unicode") and m["Status"] == "UnRead" for m in parts)
    assert f"{len(messages)} SMS parts in {len(messages)} SMS sequences" in run.stdout


def test_geteachsms_links_the_parts_and_sees_them_read(gammu: Session) -> None:
    run = gammu.runs("sim6")[1].succeeded()
    messages = parse_listing(run.stdout)
    assert [m["text"] for m in messages if m["Remote number"] == f'"{LONG_SENDER}"'] == [INBOUND_LONG]
    assert {m["Status"] for m in messages} == {"Read"}  # listing them once marked them read


def test_pin_required_is_seen_by_gammu_and_cleared_by_entering_the_pin(gammu: Session) -> None:
    before, enter, after = gammu.runs("sim7")
    assert "Waiting for PIN." in before.succeeded().stdout
    enter.succeeded()
    assert "Nothing to enter." in after.succeeded().stdout
