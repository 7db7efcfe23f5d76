"""One slow webhook receiver delays no one else, against a real `modemgate serve`.

Three keys, three receivers on 127.0.0.1 (allowed by `[webhooks] allow_networks`): one
accepts connections and never answers, one answers a byte every 5 seconds, one answers at
once. The fast one gets every event of its key, and every inbound message, within a few
seconds of the event, signed at the time it was posted; the others' attempts are cut at
the configured time limit, and no more than `per_endpoint` of them are open at once.
"""

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway.core.signing import SIGNATURE_HEADER, verify
from harness.command import MODEMGATE
from harness.livegateway import GatewayProcess, ModemSpec
from harness.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

LIMIT = 3.0  # [webhooks] timeout: seconds per attempt, all included
PER_ENDPOINT = 2
FAST_ENOUGH = 5.0  # seconds from an event to the fast receiver
MESSAGES = 8  # per key
INBOUND = 4


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
    def event(self) -> dict:
        return json.loads(self.body)


@contextmanager
def fast_receiver() -> Iterator[tuple[str, list[Got]]]:
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEMGATE_")}
    out = subprocess.run([*MODEMGATE, "apikey", "create", name, "--scope", "send", "--config", str(gw.config)],
                         check=False, capture_output=True, text=True, cwd=gw.workdir, env=env, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return {"Authorization": f"Bearer {out.stdout.strip().splitlines()[-1]}"}


def test_a_fast_receiver_gets_its_events_within_seconds_while_others_hang_and_trickle(simulator, gateway, sqlite_url):
    sim = simulator(2)
    gw = gateway(sqlite_url, [ModemSpec(f"m{i}", url) for i, url in enumerate(sim.urls.values(), 1)])
    gw.config.write_text(
        gw.config.read_text()
        + f'\n[webhooks]\nallow_networks = ["127.0.0.1/32"]\ntimeout = {LIMIT}\nper_endpoint = {PER_ENDPOINT}\n'
    )
    slow_key, trickle_key = create_key(gw, "hangs"), create_key(gw, "trickles")
    gw.start().wait_ready(["m1", "m2"])
    events = ["message.status", "delivery_report", "message.inbound"]
    with raw_receiver(None) as hanging, raw_receiver(5.0) as trickling, fast_receiver() as (fast_url, got):
        hooks = {}
        for name, headers, url in (("hangs", slow_key, hanging.url), ("trickles", trickle_key, trickling.url),
                                   ("fast", gw.headers, fast_url)):  # fmt: skip
            r = gw.client.post("/v1/webhooks", headers=headers, json={"url": url, "events": events})
            assert r.status_code == 201, r.text
            hooks[name] = r.json()

        # The slow receivers' keys send first, so their events are queued ahead of the fast one's.
        for i, headers in enumerate((slow_key, trickle_key)):
            for n in range(MESSAGES):
                r = gw.client.post(
                    "/v1/messages", headers=headers, json={"to": f"+3165{i}00000{n}", "text": f"slow {n}"}
                )
                assert r.status_code == 202, r.text
        time.sleep(1.0)
        ours = []
        for n in range(MESSAGES):
            r = gw.client.post("/v1/messages", json={"to": f"+316599000{n:02d}", "text": f"fast {n}"})
            assert r.status_code == 202, r.text
            ours.append(r.json()["id"])
        number = next(iter(sim.numbers.values()))
        for n in range(INBOUND):
            sim.inbound(next(iter(sim.numbers)), "+31611122233", f"inbound {n} to {number}")

        def complete() -> bool:
            delivered = {g.event["data"]["id"] for g in got
                         if g.headers["Modemgate-Event"] == "message.status" and g.event["data"]["status"] == "delivered"}  # fmt: skip
            inbound = [g for g in got if g.headers["Modemgate-Event"] == "message.inbound"]
            return set(ours) <= delivered and len(inbound) >= INBOUND

        wait_until(complete, timeout=90, interval=0.2, what="every event of the fast key and every inbound message")
        gw.wait_all(ours, timeout=10)

        late, delays = [], []
        for g in got:
            created = time.mktime(time.strptime(g.event["created_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
            delays.append(g.at - created)
            if g.at - created > FAST_ENOUGH:
                late.append((g.headers["Modemgate-Event"], round(g.at - created, 1)))
            # Signed at the time of posting: the documented 5-minute check holds, and t is now.
            stamp = int(g.headers[SIGNATURE_HEADER].split(",")[0].split("=")[1])
            assert abs(g.at - stamp) < 2 and verify(
                hooks["fast"]["secret"], g.body, g.headers[SIGNATURE_HEADER], now=int(g.at)
            )
        assert late == [], f"events that reached the fast receiver late: {late}"
        print(f"fast receiver: {len(got)} events, delay max {max(delays):.2f} s")
        assert len({g.headers["Modemgate-Delivery"] for g in got}) == len(got)  # each once

        # The others were tried, cut at the limit, a bounded number at once.
        wait_until(lambda: hanging.spans and trickling.spans, timeout=LIMIT * 4, what="attempts to the slow receivers")
        for name, seen in (("hangs", hanging), ("trickles", trickling)):
            longest = max(end - start for start, end in seen.spans)
            assert longest < LIMIT + 1.5, (name, longest)
            assert seen.most_open <= PER_ENDPOINT, (name, seen.most_open)
            rows = gw.client.get(f"/v1/webhooks/{hooks[name]['id']}/deliveries",
                                 headers=slow_key if name == "hangs" else trickle_key).json()  # fmt: skip
            assert {r["last_error"] for r in rows if r["attempts"]} == {"timeout"}, rows
            assert all(r["delivered_at"] is None for r in rows)
