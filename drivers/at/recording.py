"""Recording the AT exchange with a modem, at the transport edge, for bug reports and replay.

A recording is a text file of JSON lines, one per line of the exchange, in order:

    # modemgate recording: socket://127.0.0.1:7001 opened 2026-12-05T07:40:00+00:00
    {"ms": 0, "dir": "out", "line": "AT+CGMI"}
    {"ms": 12, "dir": "in", "line": "huawei"}
    {"ms": 12, "dir": "in", "line": "OK"}

- `ms`: milliseconds since the port was opened;
- `dir`: `out` for what was sent to the modem, `in` for what came from it;
- `line`: one line without its line ending (empty lines are left out). The PDU prompt
  is the line `> `; a PDU sent after it ends with Ctrl-Z (`\\u001a`).

Lines starting with `#` are comments (each open of the port adds one, and hand-written
recordings say where their facts come from). Identifiers are masked before anything is
written (`masking.py`). `RecordingTransport` wraps any `Transport`, so the parser and the
modem driver do not know they are being recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from drivers.at.masking import Direction, mask_line
from drivers.at.transport import Transport, open_transport

__all__ = ["Entry", "Recorder", "RecordingTransport", "parse_recording", "read_recording", "recording_transport"]


@dataclass(frozen=True)
class Entry:
    """One line of a recording."""

    ms: int
    direction: Direction
    line: str


def parse_recording(lines: Iterable[str], *, source: str = "recording") -> list[Entry]:
    """The entries of a recording's text; a malformed line is a ValueError naming it."""
    out: list[Entry] = []
    for n, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            item = json.loads(text)
            direction = item["dir"]
            if direction not in ("in", "out"):
                raise ValueError(f"dir must be in or out, not {direction!r}")
            out.append(Entry(int(item["ms"]), direction, str(item["line"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{source}, line {n}: not a recording entry ({exc})") from None
    return out


def read_recording(path: str | Path) -> list[Entry]:
    with open(path, encoding="utf-8") as f:
        return parse_recording(f, source=str(path))


class Recorder:
    """Turns the bytes each way into masked lines and writes them to `sink`."""

    def __init__(self, sink: IO[str], *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._sink = sink
        self._monotonic = monotonic
        self._start = monotonic()
        self._buffers: dict[Direction, bytearray] = {"in": bytearray(), "out": bytearray()}
        self._lock = threading.Lock()  # writes come from worker threads too

    def comment(self, text: str) -> None:
        with self._lock:
            self._sink.write(f"# {text}\n")
            self._sink.flush()

    def sent(self, data: bytes) -> None:
        self._feed("out", data)

    def received(self, data: bytes) -> None:
        self._feed("in", data)

    def close(self) -> None:
        for direction, rest in self._buffers.items():
            if rest.strip():
                self._write(direction, bytes(rest))
            rest.clear()
        with self._lock:
            self._sink.flush()

    def _feed(self, direction: Direction, data: bytes) -> None:
        buf = self._buffers[direction]
        buf += data
        for line in _take_lines(buf, direction):
            self._write(direction, line)

    def _write(self, direction: Direction, raw: bytes) -> None:
        line = raw.decode("latin-1").strip("\r\n")
        if not line.strip():
            return
        ms = int((self._monotonic() - self._start) * 1000)
        entry = {"ms": ms, "dir": direction, "line": mask_line(direction, line)}
        with self._lock:
            self._sink.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._sink.flush()


def _take_lines(buf: bytearray, direction: Direction) -> Iterator[bytes]:
    """Complete lines out of `buf` (removed from it). Sent lines end with CR or Ctrl-Z;
    received ones with CR and/or LF, and the PDU prompt `> ` ends one by itself."""
    enders = b"\r\x1a" if direction == "out" else b"\r\n"
    while True:
        cut = next((i for i, b in enumerate(buf) if b in enders), -1)
        if cut < 0:
            if direction == "in" and bytes(buf).lstrip(b"\r\n") == b"> ":
                buf.clear()
                yield b"> "
            return
        keep_ctrl_z = buf[cut] == 0x1A
        line = bytes(buf[: cut + 1 if keep_ctrl_z else cut])
        del buf[: cut + 1]
        yield line


class RecordingTransport:
    """A `Transport` that records what passes through it."""

    def __init__(self, inner: Transport, recorder: Recorder, sink: IO[str] | None = None) -> None:
        self._inner = inner
        self.recorder = recorder
        self._sink = sink

    async def read(self) -> bytes:
        data = await self._inner.read()
        self.recorder.received(data)
        return data

    async def write(self, data: bytes) -> None:
        self.recorder.sent(data)
        await self._inner.write(data)

    async def close(self) -> None:
        try:
            await self._inner.close()
        finally:
            self.recorder.close()
            if self._sink is not None:
                self._sink.close()


def recording_transport(
    path: str | Path,
    opener: Callable[[str], Awaitable[Transport]] = open_transport,
) -> Callable[[str], Awaitable[Transport]]:
    """A transport factory for `open_modem` that appends the exchange to `path`."""

    async def open_recorded(url: str) -> Transport:
        inner = await opener(url)
        sink = open(path, "a", encoding="utf-8")  # closed with the transport
        recorder = Recorder(sink)
        recorder.comment(
            f"modemgate recording: {_safe_url(url)} opened {datetime.now(UTC).isoformat(timespec='seconds')}"
        )
        return RecordingTransport(inner, recorder, sink)

    return open_recorded


def _safe_url(url: str) -> str:
    """The port without credentials (rfc2217://user:pw@host)."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url
