"""Webhooks: signed so a receiver can verify them, and delivered once the receiver is back."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlmodel import select

from gateway.core import webhooks
from gateway.core.db import session
from gateway.core.models import Webhook, WebhookDelivery
from gateway.core.signing import verify
from tests.support.rows import T0


class Receiver:
    """A real HTTP receiver on loopback that can be 'down' (answers 503)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.up = False
        self.got: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not receiver.up:
                    self.send_response(503)
                    self.end_headers()
                    return
                # Only the documented header and the shared secret are used here.
                header = self.headers["Modemgate-Signature"]
                t = int(header.split(",")[0].split("=")[1])
                ok = verify(receiver.secret, body, header, now=t)
                receiver.got.append({"ok": ok, "body": json.loads(body), "id": self.headers["Modemgate-Delivery"]})
                self.send_response(200 if ok else 400)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver("whsec-test")
    yield r
    r.close()


def add_hook(engine, url: str, secret: str, events: str = "message.status,message.inbound") -> None:
    with session(engine) as s:
        s.add(Webhook(url=url, secret=secret, events=events))
        s.commit()


def queue_events(engine, n: int) -> None:
    with session(engine) as s:
        for i in range(n):
            webhooks.enqueue(s, "message.status", {"id": f"m{i}", "status": "delivered"}, now=T0)
        s.commit()


def test_receiver_down_for_a_while_gets_every_event_once_back(engine, receiver):
    add_hook(engine, receiver.url, receiver.secret)
    queue_events(engine, 5)

    async def run():
        async with httpx.AsyncClient(timeout=5) as client:
            now = T0
            assert await webhooks.deliver_due(engine, client, now=now) == 0  # down
            for _ in range(3):  # still down through a few retries
                now += timedelta(minutes=5)
                await webhooks.deliver_due(engine, client, now=now)
            receiver.up = True
            now += timedelta(hours=1)
            assert await webhooks.deliver_due(engine, client, now=now) == 5
            now += timedelta(hours=1)
            assert await webhooks.deliver_due(engine, client, now=now) == 0  # nothing twice

    asyncio.run(run())
    assert all(g["ok"] for g in receiver.got)
    assert sorted(g["body"]["data"]["id"] for g in receiver.got) == [f"m{i}" for i in range(5)]
    assert len({g["id"] for g in receiver.got}) == 5


def test_backoff_grows_and_gives_up_after_24_hours(engine):
    add_hook(engine, "http://127.0.0.1:9/unreachable", "s")
    queue_events(engine, 1)

    async def run():
        async with httpx.AsyncClient(timeout=1) as client:
            now = T0
            for _ in range(60):
                await webhooks.deliver_due(engine, client, now=now)
                now += timedelta(hours=1)

    asyncio.run(run())
    with session(engine) as s:
        d = s.exec(select(WebhookDelivery)).one()
    assert d.gave_up_at is not None and d.delivered_at is None
    assert d.gave_up_at - T0 <= timedelta(hours=26)
    assert [webhooks.backoff(n).total_seconds() for n in (1, 2, 3, 10)] == [10, 20, 40, 3600]


def test_replay_sends_a_delivered_event_again(engine, receiver):
    receiver.up = True
    add_hook(engine, receiver.url, receiver.secret)
    queue_events(engine, 1)

    async def run():
        async with httpx.AsyncClient(timeout=5) as client:
            assert await webhooks.deliver_due(engine, client, now=T0) == 1
            with session(engine) as s:
                delivery_id = s.exec(select(WebhookDelivery.id)).one()
            webhooks.replay(engine, delivery_id, now=T0)
            assert await webhooks.deliver_due(engine, client, now=T0) == 1

    asyncio.run(run())
    assert len(receiver.got) == 2 and receiver.got[0]["id"] == receiver.got[1]["id"]


def test_events_go_only_to_hooks_subscribed_to_them(engine, receiver):
    add_hook(engine, receiver.url, receiver.secret, events="message.inbound")
    queue_events(engine, 3)
    with session(engine) as s:
        assert s.exec(select(WebhookDelivery)).all() == []
