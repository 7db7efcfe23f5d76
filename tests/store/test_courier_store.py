"""The courier on both databases: a hanging endpoint does not hold up another, two couriers
on one database never post a delivery twice, and each attempt is signed anew."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlmodel import select

from gateway.core import webhooks
from gateway.core.clock import SystemClock
from gateway.core.courier import Courier
from gateway.core.db import session
from gateway.core.models import ApiKey, Webhook, WebhookDelivery

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]  # real time: runs for seconds


class Receiver:
    """Answers each POST after `delay` seconds with `status`; keeps (time, delivery id, signature)."""

    def __init__(self, delay: float = 0.0, status: int = 200) -> None:
        self.delay, self.status = delay, status
        self.hang_on: str | None = None  # requests whose path has this wait 10 s
        self.hung_ids: set[str] = set()
        self.got: list[tuple[float, str, str]] = []
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                delivery = self.headers["Modemgate-Delivery"]
                me.got.append((time.monotonic(), delivery, self.headers["Modemgate-Signature"]))
                if me.hang_on and me.hang_on in self.path:
                    me.hung_ids.add(delivery)
                    time.sleep(10)
                time.sleep(me.delay)
                self.send_response(me.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True  # closing does not wait for a hanging answer
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def hung(self, delivery: str) -> bool:
        return delivery in self.hung_ids

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def silent() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    listener.close()


def hook(engine, url: str) -> int:
    with session(engine) as s:
        row = Webhook(url=url, secret="whsec-test", events="message.status")
        s.add(row)
        s.commit()
        s.refresh(row)
        assert row.id is not None
        return row.id


def queue(engine, n: int) -> None:
    with session(engine) as s:
        for i in range(n):
            webhooks.enqueue(s, "message.status", {"id": f"m{i}", "status": "sent"}, now=SystemClock().now())
        s.commit()


async def running(courier: Courier, seconds: float) -> None:
    task = asyncio.ensure_future(courier.run(0.05))
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_a_hanging_endpoint_does_not_hold_up_another(engine, silent) -> None:
    fast = Receiver()
    try:
        hook(engine, silent)
        hook(engine, fast.url)
        queue(engine, 20)  # 20 for each
        started = time.monotonic()

        async def run() -> None:
            async with httpx.AsyncClient() as client:
                await running(Courier(engine, client, SystemClock(), concurrency=2, attempt_timeout=1.0), 2.5)

        asyncio.run(run())
        assert len({d for _, d, _ in fast.got}) == 20
        assert max(t for t, _, _ in fast.got) - started < 1.5, "the fast endpoint waited"
        with session(engine) as s:
            rows = s.exec(select(WebhookDelivery).where(WebhookDelivery.url.is_(None))).all()
        silent_rows = [r for r in rows if r.endpoint == webhooks.endpoint(None, silent)]
        tried = [r for r in silent_rows if r.attempts]
        assert tried and {r.last_error for r in tried} == {"timeout"}
        # Two at a time, each cut after a second: never more than two waited on at once.
        assert 2 <= len(tried) <= 6, len(tried)
    finally:
        fast.close()


def test_one_keys_hanging_path_does_not_hold_up_another_keys_events_on_the_same_server(engine) -> None:
    server = Receiver()
    try:
        with session(engine) as s:
            keys = [ApiKey(name=n, prefix=n[:8].ljust(8, "0"), key_hash=n) for n in ("slowkey", "fastkey")]
            s.add_all(keys)
            s.commit()
            ids = [k.id for k in keys]
            s.add(Webhook(api_key_id=ids[0], url=server.url + "?hang=1", secret="s", events="message.status"))
            s.add(Webhook(api_key_id=ids[1], url=server.url, secret="s", events="message.status"))
            s.commit()
            for n in range(10):
                for key_id in ids:
                    webhooks.enqueue(
                        s, "message.status", {"id": f"{key_id}-{n}"}, now=SystemClock().now(), api_key_id=key_id
                    )
            s.commit()
        server.hang_on = "hang=1"  # requests to that URL wait 10 s
        started = time.monotonic()

        async def run() -> None:
            async with httpx.AsyncClient() as client:
                await running(Courier(engine, client, SystemClock(), concurrency=2, attempt_timeout=5.0), 2.0)

        asyncio.run(run())
        fast = [t for t, d, _ in server.got if not server.hung(d)]
        assert len(fast) == 10 and max(fast) - started < 1.5
    finally:
        server.close()


def test_two_couriers_on_one_database_never_post_a_delivery_twice(engine) -> None:
    slow = Receiver(delay=0.2)
    try:
        hook(engine, slow.url)
        queue(engine, 12)

        async def run() -> None:
            async with httpx.AsyncClient() as a, httpx.AsyncClient() as b:
                await asyncio.gather(
                    running(Courier(engine, a, SystemClock(), concurrency=3), 2.0),
                    running(Courier(engine, b, SystemClock(), concurrency=3), 2.0),
                )

        asyncio.run(run())
        counts = Counter(d for _, d, _ in slow.got)
        assert len(counts) == 12 and set(counts.values()) == {1}, counts
    finally:
        slow.close()


def test_each_attempt_is_signed_at_its_own_time(engine) -> None:
    failing = Receiver(status=503)
    try:
        hook(engine, failing.url)
        queue(engine, 1)
        clock = SystemClock()

        async def run() -> None:
            async with httpx.AsyncClient() as client:
                await Courier(engine, client, clock).settle()

        asyncio.run(run())
        with session(engine) as s:
            delivery = s.exec(select(WebhookDelivery)).one()
            assert delivery.attempts == 1 and delivery.last_error == "http_status" and delivery.last_status == 503
            # Due again after its backoff (10 s and its spread), counted from its own attempt.
            due_in = delivery.next_attempt_at - clock.now()
            assert timedelta(seconds=8) < due_in <= timedelta(seconds=12.5)
            delivery.next_attempt_at = clock.now()
            s.add(delivery)
            s.commit()
        time.sleep(1.1)
        asyncio.run(run())
        (_, _, first), (_, _, second) = failing.got
        stamps = [int(sig.split(",")[0].split("=")[1]) for sig in (first, second)]
        assert stamps[1] > stamps[0]
    finally:
        failing.close()
