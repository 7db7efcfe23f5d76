"""Webhooks through the API, delivered to a real HTTP receiver and verified with its secret alone."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway.core.signing import SIGNATURE_HEADER, verify
from tests.support.api import Api, assert_error, error_fields, wait_for


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200

    def events(self, event: str) -> list[Received]:
        return [r for r in list(self.requests) if r.headers.get("Modemgate-Event") == event]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 that keeps every request it gets."""
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            box[0].requests.append(Received(dict(self.headers.items()), body))
            self.send_response(box[0].status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks/sms"))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()


def _register(api: Api, url: str, events: list[str]) -> dict:
    response = api.post("/v1/webhooks", json={"url": url, "events": events})
    assert response.status_code == 201, response.text
    return response.json()


def test_the_secret_is_shown_once(api: Api, receiver: Receiver) -> None:
    created = _register(api, receiver.url, ["message.status"])
    assert created["secret"].startswith("whsec_") and len(created["secret"]) >= 32
    assert created["url"] == receiver.url and created["events"] == ["message.status"] and created["enabled"]

    listed = api.get("/v1/webhooks")
    assert listed.status_code == 200
    assert [h["id"] for h in listed.json()] == [created["id"]]
    assert listed.json()[0].get("secret") is None
    assert created["secret"] not in listed.text


def test_status_events_arrive_signed_and_verify_with_the_secret_alone(api: Api, receiver: Receiver) -> None:
    hook = _register(api, receiver.url, ["message.status"])
    message = api.send("tell me when it arrives")
    api.wait_delivered(message["id"])

    def delivered_event() -> list[Received]:
        return [r for r in receiver.events("message.status") if r.json["data"]["status"] == "delivered"]

    (event,) = wait_for(delivered_event, 10, "a message.status delivered event", last=lambda: receiver.requests)
    assert event.json["data"]["id"] == message["id"] and event.json["event"] == "message.status"
    assert event.headers["Content-Type"] == "application/json"
    assert verify(hook["secret"], event.body, event.headers[SIGNATURE_HEADER], now=int(time.time()))
    for other in receiver.requests:
        assert verify(hook["secret"], other.body, other.headers[SIGNATURE_HEADER], now=int(time.time()))
    assert {r.headers["Modemgate-Event"] for r in receiver.requests} == {"message.status"}

    # A body changed on the way, or another secret, does not verify.
    tampered = event.body.replace(b'"delivered"', b'"failed"')
    assert tampered != event.body
    assert not verify(hook["secret"], tampered, event.headers[SIGNATURE_HEADER], now=int(time.time()))
    assert not verify("whsec_" + "x" * 32, event.body, event.headers[SIGNATURE_HEADER], now=int(time.time()))
    stale = int(time.time()) + 3600
    assert not verify(hook["secret"], event.body, event.headers[SIGNATURE_HEADER], now=stale)


def test_deliveries_are_listed_and_a_replay_sends_again(api: Api, receiver: Receiver) -> None:
    hook = _register(api, receiver.url, ["message.status", "delivery_report"])
    message = api.send("replay me")
    api.wait_delivered(message["id"])

    def all_delivered() -> list[dict]:
        rows = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
        kinds = {r["event"] for r in rows}
        return rows if kinds == {"message.status", "delivery_report"} and all(r["delivered_at"] for r in rows) else []

    rows = wait_for(all_delivered, 10, "deliveries recorded as delivered")
    assert all(r["attempts"] == 1 and r["last_status"] == 200 for r in rows)
    assert len(receiver.requests) == len(rows)

    chosen = rows[-1]
    replay = api.post(f"/v1/webhook-deliveries/{chosen['id']}/replay")
    assert replay.status_code == 202
    again = wait_for(
        lambda: [r for r in receiver.requests if r.headers["Modemgate-Delivery"] == str(chosen["id"])][1:],
        10,
        "the replayed delivery",
    )
    first = next(r for r in receiver.requests if r.headers["Modemgate-Delivery"] == str(chosen["id"]))
    assert again[0].body == first.body
    assert verify(hook["secret"], again[0].body, again[0].headers[SIGNATURE_HEADER], now=int(time.time()))
    replayed = wait_for(
        lambda: [
            r
            for r in api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
            if r["id"] == chosen["id"] and r["attempts"] == 2
        ],
        10,
        "the replay counted",
    )
    assert replayed[0]["delivered_at"]


def test_a_receiver_that_fails_is_retried_later(api: Api, receiver: Receiver) -> None:
    receiver.status = 503
    hook = _register(api, receiver.url, ["message.status"])
    api.wait_delivered(api.send("retry the hook")["id"])
    rows = wait_for(
        lambda: [r for r in api.get(f"/v1/webhooks/{hook['id']}/deliveries").json() if r["last_status"] == 503],
        10,
        "a failed delivery",
    )
    assert rows[0]["delivered_at"] is None and rows[0]["last_error"] == "http_status"
    receiver.status = 200
    api.clock.advance(minutes=5)  # past the first backoff
    wait_for(
        lambda: all(r["delivered_at"] for r in api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()),
        10,
        "deliveries after the receiver is back",
    )


def test_a_deleted_webhook_gets_no_more_events(api: Api, receiver: Receiver) -> None:
    hook = _register(api, receiver.url, ["message.status"])
    assert api.client.delete(f"/v1/webhooks/{hook['id']}", headers=api.headers).status_code == 204
    api.wait_delivered(api.send("nobody listens")["id"])
    time.sleep(0.3)
    assert receiver.requests == []
    assert_error(api.client.delete("/v1/webhooks/999999", headers=api.headers), 404, "not_found")


def test_webhooks_of_another_key_are_invisible(api: Api, receiver: Receiver) -> None:
    hook = _register(api, receiver.url, ["message.status"])
    other, _ = api.new_key()
    headers = {"Authorization": f"Bearer {other}"}
    assert api.client.get("/v1/webhooks", headers=headers).json() == []
    assert_error(api.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=headers), 404, "not_found")
    assert_error(api.client.delete(f"/v1/webhooks/{hook['id']}", headers=headers), 404, "not_found")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "not a url", "events": ["message.status"]}, "url"),
        ({"url": "ftp://example.com/x", "events": ["message.status"]}, "url"),
        ({"url": "https://example.com/x", "events": []}, "events"),
        ({"url": "https://example.com/x", "events": ["message.nope"]}, "events.0"),
        ({"url": "https://example.com/x", "events": ["message.status"], "secret": "short"}, "secret"),
    ],
)
def test_bad_webhooks_are_422(shared_api: Api, body: dict, field: str) -> None:
    error = assert_error(shared_api.post("/v1/webhooks", json=body), 422, "invalid_request")
    assert error_fields(error) == {field}


def test_unknown_deliveries_are_404(shared_api: Api) -> None:
    assert_error(shared_api.get("/v1/webhooks/424242/deliveries"), 404, "not_found")
    assert_error(shared_api.post("/v1/webhook-deliveries/424242/replay"), 404, "not_found")


def test_a_callback_url_gets_its_own_messages_events_signed_with_the_keys_callback_secret(
    api: Api, receiver: Receiver
) -> None:
    other = api.send("no callback for this one")
    message = api.send("call me back " + "x" * 200, callback_url=receiver.url)  # two parts
    api.wait_delivered(message["id"])
    api.wait_delivered(other["id"])
    secret = api.get("/v1/callback-secret").json()["secret"]
    assert api.get("/v1/callback-secret").json()["secret"] == secret  # made once, then kept

    def settled() -> list[Received]:
        done = [r for r in receiver.events("message.status") if r.json["data"]["status"] == "delivered"]
        return done if done and len(receiver.events("delivery_report")) == 2 else []

    wait_for(settled, 10, "the callback's delivered status and two part reports", last=lambda: receiver.requests)
    assert {r.json["data"].get("id", r.json["data"].get("message_id")) for r in receiver.requests} == {message["id"]}
    assert sorted(r.json["data"]["part"] for r in receiver.events("delivery_report")) == [1, 2]
    for request in receiver.requests:
        assert verify(secret, request.body, request.headers[SIGNATURE_HEADER], now=int(time.time()))

    # The receiver has each request before the gateway reads its answer and records it.
    listed = wait_for(
        lambda: (rows := api.get("/v1/callback-deliveries").json()) and all(d["delivered_at"] for d in rows) and rows,
        10,
        "every callback delivery recorded as delivered",
    )
    assert {d["url"] for d in listed} == {receiver.url} and all(d["delivered_at"] for d in listed)
    replayed = api.post(f"/v1/webhook-deliveries/{listed[0]['id']}/replay")
    assert replayed.status_code == 202
    before = len(receiver.requests)
    wait_for(lambda: len(receiver.requests) > before, 10, "the replayed callback")
