"""`modemgate simulate` as a user runs it: a process that prints its ports, answers AT on
them, journals what it is sent, and exits cleanly on SIGTERM."""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import serial

from drivers.sms import encode_submit
from harness.command import MODEMGATE


class Running:
    """A `modemgate simulate` process with its output lines collected in the background."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*MODEMGATE, "simulate", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr.append), daemon=True).start()

    @staticmethod
    def _pump(stream: object, put: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            put(line.rstrip("\n"))  # type: ignore[operator]

    def lines(self, n: int, timeout: float = 15.0) -> list[str]:
        deadline = time.monotonic() + timeout
        out = []
        while len(out) < n:
            try:
                out.append(self.stdout.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(
                    f"expected {n} lines, got {out}; exit code {self.proc.poll()}, stderr {self.stderr}"
                ) from None
        return out

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("modemgate simulate did not exit within 10 s of SIGTERM") from None


@contextmanager
def simulate(*args: str) -> Iterator[Running]:
    running = Running(*args)
    try:
        yield running
    finally:
        running.stop()


def fields(line: str) -> dict[str, str]:
    """`sim1 number=+316… tcp=socket://…` → {"id": "sim1", "number": …, "tcp": …}."""
    first, *rest = line.split()
    return {"id": first, **dict(item.split("=", 1) for item in rest)}


def free_port_run(count: int) -> int:
    """A base port with `count` free ports from it on (checked by binding them)."""
    for _ in range(50):
        with closing(socket.socket()) as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65535:
            continue
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no run of free ports found")


def at(port: serial.SerialBase, command: bytes, until: bytes = b"OK\r\n", timeout: float = 5.0) -> bytes:
    port.write(command)
    deadline = time.monotonic() + timeout
    got = b""
    while until not in got and b"ERROR" not in got:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {until!r} after {command!r}; got {got!r}")
        got += port.read(max(1, port.in_waiting))
    return got


def test_prints_one_line_per_modem_with_distinct_ports_and_numbers() -> None:
    with simulate("--modems", "3", "--tcp", "127.0.0.1:0") as sim:
        modems = [fields(line) for line in sim.lines(3)]
    assert [m["id"] for m in modems] == ["sim1", "sim2", "sim3"]
    assert len({m["number"] for m in modems}) == 3
    assert len({m["tcp"] for m in modems}) == 3
    assert all(m["tcp"].startswith("socket://127.0.0.1:") for m in modems)
    assert all("pty" not in m for m in modems)  # TCP only when only --tcp is given


def test_tcp_base_port_puts_modem_i_on_port_plus_i_minus_1() -> None:
    base = free_port_run(3)
    with simulate("--modems", "3", "--tcp", f"127.0.0.1:{base}") as sim:
        modems = [fields(line) for line in sim.lines(3)]
        assert [m["tcp"] for m in modems] == [f"socket://127.0.0.1:{base + i}" for i in range(3)]
        with closing(serial.serial_for_url(modems[2]["tcp"], timeout=2)) as port:
            assert at(port, b"AT\r") == b"AT\r\r\nOK\r\n"
            assert (
                at(port, b"AT+CNUM\r")
                == b'AT+CNUM\r\r\n+CNUM: "","' + modems[2]["number"].encode() + b'",145\r\n\r\nOK\r\n'
            )


def test_pty_by_default_answers_at() -> None:
    with simulate("--modems", "1") as sim:
        [line] = sim.lines(1)
        pty = fields(line)["pty"]
        assert Path(pty).is_symlink()
        with closing(serial.serial_for_url(pty, timeout=2)) as port:
            assert at(port, b"AT\r") == b"AT\r\r\nOK\r\n"


def test_journal_gets_one_json_line_per_submitted_part(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    with simulate("--modems", "1", "--tcp", "127.0.0.1:0", "--journal", str(journal)) as sim:
        [line] = sim.lines(1)
        modem = fields(line)
        parts = encode_submit("+31611111111", "Journal me, twice over: " * 8, ref=77)
        with closing(serial.serial_for_url(modem["tcp"], timeout=2)) as port:
            at(port, b"ATE0\r")
            for part in parts:
                at(port, f"AT+CMGS={part.tpdu_length}\r".encode(), until=b"> ")
                assert b"+CMGS: " in at(port, part.pdu.encode() + b"\x1a")
        entries = [json.loads(x) for x in journal.read_text(encoding="utf-8").splitlines()]
    assert len(parts) == 2 and len(entries) == 2
    assert [e["concat"] for e in entries] == [{"ref": 77, "total": 2, "seq": 1}, {"ref": 77, "total": 2, "seq": 2}]
    assert all(e["modem"] == "sim1" and e["sender"] == modem["number"] for e in entries)
    assert "".join(e["text"] for e in entries) == "Journal me, twice over: " * 8


def test_control_api_on_port_0_reports_its_real_address() -> None:
    import httpx

    with simulate("--modems", "1", "--tcp", "127.0.0.1:0", "--control", "127.0.0.1:0") as sim:
        sim.lines(1)
        deadline = time.monotonic() + 10
        while not any(x.startswith("control=") for x in sim.stderr):
            assert time.monotonic() < deadline, sim.stderr
            time.sleep(0.02)
        url = next(x for x in sim.stderr if x.startswith("control=")).split("=", 1)[1]
        assert not url.endswith(":0")
        assert httpx.get(url + "/modems", timeout=5).json()[0]["id"] == "sim1"


def test_sigterm_exits_cleanly() -> None:
    sim = Running("--modems", "2", "--pty", "--tcp", "127.0.0.1:0", "--control", "127.0.0.1:0")
    try:
        links = [fields(line)["pty"] for line in sim.lines(2)]
        assert all(Path(link).exists() for link in links)
    finally:
        code = sim.stop()
    assert code == 0, sim.stderr
    assert not any("Traceback" in x for x in sim.stderr), sim.stderr
    assert not any(Path(link).exists() for link in links)  # links removed on the way out
