"""Webhook receivers on 127.0.0.1 for tests and benches: a raw one that hangs or trickles its
answer (recording each connection's span and the most open at once), a fast one that records
what it got, and a `send`-scoped key for a running gateway."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness.command import MODEMGATE
from harness.livegateway import GatewayProcess


@dataclass
class Connections:
    """What a raw receiver saw: when each connection opened and closed, and the most open at once."""

    url: str = ""
    spans: list[tuple[float, float]] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def opened(self) -> float:
        with self.lock:
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
        return time.monotonic()

    def closed(self, since: float) -> None:
        with self.lock:
            self.open_now -= 1
            self.spans.append((since, time.monotonic()))


@contextmanager
def raw_receiver(answer_every: float | None) -> Iterator[Connections]:
    """Accepts connections; None: never answers; else sends the answer a byte every `answer_every` s."""
    seen = Connections()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    seen.url = f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        since = seen.opened()
        conn.settimeout(0.2)
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        sent, next_byte = 0, time.monotonic()
        try:
            while not stop.is_set():
                try:
                    if not conn.recv(65536):
                        break  # the gateway hung up
                except TimeoutError:
                    pass
                if answer_every is not None and sent < len(answer) and time.monotonic() >= next_byte:
                    conn.send(answer[sent : sent + 1])
                    sent, next_byte = sent + 1, time.monotonic() + answer_every
        except OSError:
            pass
        finally:
            conn.close()
            seen.closed(since)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield seen
    finally:
        stop.set()
        server.close()


@dataclass
class Got:
    at: float  # wall-clock time of receipt
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event

    @property
    def delay(self) -> float:
        """Seconds from the event's `created_at` to its receipt."""
        created = datetime.fromisoformat(self.event["created_at"])
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return self.at - created.timestamp()


@contextmanager
def fast_receiver() -> Iterator[tuple[str, list[Got]]]:
    """Answers 204 at once; yields its URL and the list of what it got, in order of receipt."""
    got: list[Got] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got.append(Got(time.time(), dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    finally:
        server.shutdown()
        server.server_close()


def create_key(gw: GatewayProcess, name: str) -> dict[str, str]:
    """A new `send`-scoped key on `gw` (`modemgate apikey create`), as request headers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEMGATE_")}
    out = subprocess.run([*MODEMGATE, "apikey", "create", name, "--scope", "send", "--config", str(gw.config)],
                         check=False, capture_output=True, text=True, cwd=gw.workdir, env=env, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return {"Authorization": f"Bearer {out.stdout.strip().splitlines()[-1]}"}
