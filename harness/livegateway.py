"""Real processes for the integration tests and the benchmarks.

`SimulatorProcess` runs `modemgate simulate` (modems on TCP, a control API, a journal of
every part the simulated network accepted); `GatewayProcess` runs `modemgate serve` with a
settings file pointing at those modems. Both are driven only through their command line,
their HTTP APIs and the journal file, as a user would.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import threading
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from harness.command import MODEMGATE
from harness.waiting import wait_until

__all__ = [
    "GatewayProcess",
    "ModemSpec",
    "SimulatorProcess",
    "free_port",
    "journal_messages",
    "mixed_messages",
    "part_key",
    "rate_violations",
]

# Settings come from the files the tests write, not from whoever runs them.
_ENV = {k: v for k, v in os.environ.items() if not k.startswith("MODEMGATE_")}
# The harness drives every part of the API (modems, simulator control, contacts): its key holds every scope.
_ALL_SCOPES = ("--scope", "send", "--scope", "marketing", "--scope", "admin")
_LINE = re.compile(r"^(?P<id>\S+) number=(?P<number>\S+) .*tcp=(?P<url>socket://\S+)")
_PTY = re.compile(r" pty=(?P<path>\S+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the simulator ------------------------------------------------------------------------


class SimulatorProcess:
    """`modemgate simulate --modems N --tcp 127.0.0.1:0 --control … --journal …`."""

    def __init__(self, modems: int, workdir: Path, *, name: str = "sim", options: Sequence[str] = ()) -> None:
        self.workdir = workdir
        self.journal_path = workdir / f"{name}-journal.jsonl"
        self.log_path = workdir / f"{name}.log"
        self.control_port = free_port()
        self.control = f"http://127.0.0.1:{self.control_port}"
        self.urls: dict[str, str] = {}
        self.numbers: dict[str, str] = {}
        # With "--pty" among `options`: each modem's pseudo-terminal, which gammu and
        # `modemgate serve` both open like a USB modem's serial port.
        self.ptys: dict[str, str] = {}
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [
                *MODEMGATE,
                "simulate",
                "--modems",
                str(modems),
                "--tcp",
                "127.0.0.1:0",
                "--control",
                f"127.0.0.1:{self.control_port}",
                "--journal",
                str(self.journal_path),
                *options,
            ],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=workdir,
            env=_ENV,
        )
        lines = _read_lines(self.proc, modems, timeout=20)
        for line in lines:
            m = _LINE.match(line)
            assert m, f"unexpected simulator line {line!r}"
            self.urls[m["id"]] = m["url"]
            self.numbers[m["id"]] = m["number"]
            if pty := _PTY.search(line):
                self.ptys[m["id"]] = pty["path"]
        wait_until(self._control_up, timeout=10, what="the simulator control API")

    def _control_up(self) -> bool:
        try:
            return httpx.get(f"{self.control}/modems", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def set_faults(self, modem: str, **faults: Any) -> dict[str, Any]:
        r = httpx.post(f"{self.control}/faults", json={"modem": modem, **faults}, timeout=10)
        r.raise_for_status()
        return r.json()

    def clear_faults(self, modem: str) -> None:
        httpx.delete(f"{self.control}/faults/{modem}", timeout=10).raise_for_status()

    def modems(self) -> list[dict[str, Any]]:
        """The control API's view of each modem: ports, faults, storage, maker, noise sent."""
        r = httpx.get(f"{self.control}/modems", timeout=10)
        r.raise_for_status()
        return r.json()

    def inbound(self, modem: str, sender: str, text: str) -> None:
        """A message from `sender` arrives at `modem`."""
        httpx.post(
            f"{self.control}/inbound", json={"modem": modem, "sender": sender, "text": text}, timeout=10
        ).raise_for_status()

    def journal(self) -> list[dict[str, Any]]:
        """Every part the network accepted, in order, with `t` (epoch seconds) added."""
        if not self.journal_path.exists():
            return []
        out = []
        with open(self.journal_path, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # being written
                entry = json.loads(line)
                entry["t"] = datetime.fromisoformat(entry["time"]).timestamp()
                out.append(entry)
        return out

    def journal_count(self) -> int:
        if not self.journal_path.exists():
            return 0
        with open(self.journal_path, "rb") as f:
            return f.read().count(b"\n")

    def stop(self) -> None:
        _stop(self.proc)
        self._log.close()


# --- the gateway --------------------------------------------------------------------------


@dataclass
class ModemSpec:
    id: str
    port: str
    sends_per_minute: float | str = 600  # or "unlimited" (a simulator: with not_a_sim)
    burst: int = 5
    daily_cap: int = 0
    storage_poll: float | None = None  # seconds; None: the gateway's default
    not_a_sim: bool = False


class GatewayProcess:
    """`modemgate serve --config FILE --port P`, with an API key made by `modemgate apikey create`.

    `settings`: more top-level keys of the settings file (`drain_timeout`, `node_id`, …).
    """

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        modems: Sequence[ModemSpec],
        *,
        name: str = "gw",
        key: str | None = None,
        extra: str = "",
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.workdir = workdir
        self.name = name
        self.config = workdir / f"{name}.toml"
        # `settings`: top-level keys; `extra`: more of the file, e.g. '[campaigns]\nwindow_start = "00:00"'.
        self.config.write_text(_toml(database_url, modems, settings or {}) + extra)
        self.log_path = workdir / f"{name}.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key = key or self._create_key()
        self.headers = {"Authorization": f"Bearer {self.key}"}
        self.proc: subprocess.Popen[str] | None = None
        self._log = open(self.log_path, "a")
        self.client = httpx.Client(base_url=self.url, headers=self.headers, timeout=30)

    def _create_key(self) -> str:
        out = subprocess.run(
            [*MODEMGATE, "apikey", "create", self.name, *_ALL_SCOPES, "--config", str(self.config)],
            capture_output=True,
            text=True,
            cwd=self.workdir,
            env=_ENV,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]

    def start(self) -> GatewayProcess:
        self.proc = subprocess.Popen(
            [*MODEMGATE, "serve", "--config", str(self.config), "--port", str(self.port)],
            stdout=self._log,
            stderr=self._log,
            text=True,
            cwd=self.workdir,
            env=_ENV,
        )
        wait_until(self._answers, timeout=30, what=f"{self.name} to answer on {self.url}")
        return self

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
        try:
            return self.client.get("/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, modems: Iterable[str], timeout: float = 20) -> None:
        want = set(modems)
        wait_until(
            lambda: want <= {m["id"] for m in self.modems() if m["state"] == "ready"},
            timeout=timeout,
            what=f"modems {sorted(want)} ready",
        )

    def run_refused(self, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `modemgate serve` expecting it to refuse to start: it must exit by itself
        (within `timeout`); its exit status and output are returned."""
        return subprocess.run(
            [*MODEMGATE, "serve", "--config", str(self.config), "--port", str(self.port)],
            capture_output=True,
            text=True,
            cwd=self.workdir,
            env=_ENV,
            timeout=timeout,
        )

    def terminate(self, timeout: float) -> int:
        """SIGTERM, then wait up to `timeout` seconds for the process to end; its exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        self.client.close()
        if self.proc is not None:
            _stop(self.proc)
        self._log.close()

    def log(self, tail: int | None = 4000) -> str:
        """What the process wrote to stdout and stderr (the last `tail` characters)."""
        self._log.flush()
        text = self.log_path.read_text(errors="replace")
        return text[-tail:] if tail else text

    # --- API ----------------------------------------------------------------------------

    def modems(self) -> list[dict[str, Any]]:
        r = self.client.get("/v1/modems")
        r.raise_for_status()
        return r.json()

    def patch_modem(self, modem_id: str, **changes: Any) -> dict[str, Any]:
        r = self.client.patch(f"/v1/modems/{modem_id}", json=changes)
        r.raise_for_status()
        return r.json()

    def submit_all(self, messages: Sequence[tuple[str, str]], *, concurrency: int = 8) -> list[str]:
        """POST every (to, text) with `concurrency` requests in flight; the message ids, in order."""
        return asyncio.run(_submit_all(self.url, self.headers, messages, concurrency))

    def statuses(self) -> dict[str, str]:
        """Every message of this key: id -> status."""
        out: dict[str, str] = {}
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 200}
            if cursor:
                params["cursor"] = cursor
            r = self.client.get("/v1/messages", params=params)
            r.raise_for_status()
            page = r.json()
            out.update((m["id"], m["status"]) for m in page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return out

    def message(self, message_id: str) -> dict[str, Any]:
        r = self.client.get(f"/v1/messages/{message_id}")
        r.raise_for_status()
        return r.json()

    def wait_all(
        self, ids: Iterable[str], status: str | Collection[str] = "delivered", *, timeout: float
    ) -> dict[str, str]:
        """Wait until every message in `ids` has `status` (or one of them); the last statuses seen."""
        want = set(ids)
        ok = {status} if isinstance(status, str) else set(status)
        seen: dict[str, str] = {}

        def done() -> bool:
            nonlocal seen
            seen = self.statuses()
            return all(seen.get(i) in ok for i in want)

        try:
            wait_until(done, timeout=timeout, interval=0.5, what=f"all {len(want)} messages {status}")
        except AssertionError:
            counts: dict[str, int] = defaultdict(int)
            for i in want:
                counts[seen.get(i, "missing")] += 1
            stuck = [self.message(i) for i in want if seen.get(i) not in ok][:3]
            raise AssertionError(f"{self.name}: statuses {dict(counts)}; e.g. {stuck}\n{self.log()}") from None
        return seen


async def _submit_all(
    url: str, headers: dict[str, str], messages: Sequence[tuple[str, str]], concurrency: int
) -> list[str]:
    ids: list[str | None] = [None] * len(messages)
    queue = list(enumerate(messages))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits) as client:

        async def one_worker() -> None:
            while queue:
                i, (to, text) = queue.pop(0)
                r = await client.post("/v1/messages", json={"to": to, "text": text})
                assert r.status_code == 202, r.text
                ids[i] = r.json()["id"]

        await asyncio.gather(*(one_worker() for _ in range(concurrency)))
    return [i for i in ids if i is not None]


# --- what to send and how to check it -----------------------------------------------------


def mixed_messages(n: int, *, prefix: str = "", number_base: int = 0) -> list[tuple[str, str]]:
    """`n` (to, text): a third each single GSM-7, multipart GSM-7, multipart UCS-2 with emoji.

    Every message has its own recipient and text, so a journal entry names its message.
    """
    out = []
    for i in range(n):
        to = f"+3165{number_base + i:07d}"
        tag = f"{prefix}{i}"
        kind = i % 3
        if kind == 0:
            text = f"{tag}: your code is {1000 + i} {{ok}} €"
        elif kind == 1:
            text = f"{tag}: " + " ".join(f"word{j}" for j in range(30 + i % 40))  # 2-3 parts
        else:
            text = f"{tag}: Привет 😀 " + "добрый день 🎉 " * (5 + i % 6)  # 2-3 UCS-2 parts
        out.append((to, text))
    return out


def part_key(entry: dict[str, Any]) -> tuple[Any, ...]:
    """What identifies one part in the journal (recipient, place in its message, text)."""
    concat = entry["concat"]
    place = (concat["total"], concat["seq"]) if concat else (1, 1)
    return (entry["recipient"], *place, entry["text"])


def journal_messages(
    journal: Sequence[dict[str, Any]], orphans: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Parts joined into messages by (modem, recipient, concatenation reference).

    Parts of a message that never got all its parts from one modem (a multipart message
    moved to another modem and resent whole) are appended to `orphans`, when given.
    """
    out: list[dict[str, Any]] = []
    groups: dict[tuple[Any, ...], dict[int, dict[str, Any]]] = {}
    for e in journal:
        concat = e["concat"]
        if concat is None:
            out.append({"recipient": e["recipient"], "text": e["text"], "modems": {e["modem"]}, "parts": 1})
            continue
        key = (e["modem"], e["recipient"], concat["ref"], concat["total"])
        parts = groups.setdefault(key, {})
        parts[concat["seq"]] = e
        if len(parts) == concat["total"]:
            del groups[key]
            out.append(
                {
                    "recipient": e["recipient"],
                    "text": "".join(parts[s]["text"] for s in sorted(parts)),
                    "modems": {p["modem"] for p in parts.values()},
                    "parts": len(parts),
                }
            )
    if orphans is not None:
        orphans.extend(p for parts in groups.values() for p in parts.values())
    return out


def rate_violations(times: Sequence[float], per_minute: float, burst: int, *, jitter: float) -> list[str]:
    """Windows of journal times holding more parts than the token bucket allows.

    Any k consecutive parts (sorted by time) from t0 to t1 must satisfy
    k <= burst + per_minute * (t1 - t0 + jitter) / 60; `jitter` allows for the time
    between taking a token and the simulator stamping the part.
    """
    ts = sorted(times)
    bad = []
    for i in range(len(ts)):
        for j in range(i + burst, len(ts)):
            allowed = burst + per_minute * (ts[j] - ts[i] + jitter) / 60.0
            if j - i + 1 > allowed:
                bad.append(f"{j - i + 1} parts in {ts[j] - ts[i]:.3f} s (allowed {allowed:.2f})")
    return bad


# --- helpers ------------------------------------------------------------------------------


def _toml(database_url: str, modems: Sequence[ModemSpec], settings: dict[str, Any]) -> str:
    lines = [f"database_url = {json.dumps(database_url)}"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    lines.append("")
    for m in modems:
        lines += [
            "[[modems]]",
            f"id = {json.dumps(m.id)}",
            f"port = {json.dumps(m.port)}",
            f"sends_per_minute = {json.dumps(m.sends_per_minute)}",
            *(["not_a_sim = true"] if m.not_a_sim else []),
            f"burst = {m.burst}",
            f"daily_cap = {m.daily_cap}",
            *([f"storage_poll = {m.storage_poll}"] if m.storage_poll is not None else []),
            "",
        ]
    return "\n".join(lines)


def _read_lines(proc: subprocess.Popen[str], n: int, *, timeout: float) -> list[str]:
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        while len(lines) < n:
            line = proc.stdout.readline()
            if not line:
                return
            lines.append(line.strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if len(lines) < n:
        _stop(proc)
        raise AssertionError(f"simulator printed {lines!r}, expected {n} modem lines")
    return lines


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
