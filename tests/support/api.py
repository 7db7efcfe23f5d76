"""Helpers for the HTTP API tests: a running gateway behind a TestClient, waiting, error bodies."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from gateway.automation.wiring import automation
from gateway.core import apikeys
from gateway.core.clock import SystemClock
from gateway.core.db import session
from gateway.core.runtime import Gateway, Timing
from gateway.core.settings import ModemSettings, Settings, WebhookSettings
from harness.waiting import wait_until
from tests.support.dns import resolve

# The gateway's loops, shortened: a test sees a send, a report or a health poll in
# tens of milliseconds instead of seconds.
FAST = Timing(
    idle_poll=0.05,
    health_interval=0.5,
    storage_poll=1.0,
    webhook_poll=0.1,
    command_timeout=2.0,
    send_timeout=5.0,
    reconnect_initial=0.1,
    reconnect_max=0.5,
)

T = TypeVar("T")

PUBLIC_URL = "https://sms.example.com"  # where the tests' short links point (tests.support.dns)


class SkewClock(SystemClock):
    """The real clock, whose wall time a test can move forward (to make a retry due now)
    or hold still (so that many rows share one timestamp). Pacing time is left alone."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.frozen: datetime | None = None

    def now(self) -> datetime:
        return self.frozen if self.frozen is not None else datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@dataclass
class Api:
    """A running gateway and an authorised client for it."""

    client: TestClient
    app: FastAPI
    gateway: Gateway
    clock: SkewClock
    key: str  # the plaintext key, as the caller holds it
    key_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(url, headers=self.headers, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.post(url, headers=headers, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.patch(url, headers=self.headers, **kwargs)

    def pages(self, url: str, **params: Any) -> list[dict[str, Any]]:
        """Every page of a cursor-paged list, in order, following `next_cursor` to the end."""
        pages: list[dict[str, Any]] = []
        cursor = None
        while True:
            response = self.get(url, params={**params, **({"cursor": cursor} if cursor else {})})
            assert response.status_code == 200, response.text
            pages.append(page := response.json())
            if not (cursor := page["next_cursor"]):
                return pages

    def every(self, url: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a cursor-paged list, page after page."""
        return [item for page in self.pages(url, **params) for item in page["items"]]

    def send(self, text: str = "hello", to: str = "+31612345678", **fields: Any) -> dict[str, Any]:
        """POST /v1/messages and return the accepted message."""
        response = self.post("/v1/messages", json={"to": to, "text": text, **fields})
        assert response.status_code == 202, response.text
        return response.json()

    def message(self, message_id: str) -> dict[str, Any]:
        response = self.get(f"/v1/messages/{message_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def modems(self) -> dict[str, dict[str, Any]]:
        response = self.get("/v1/modems")
        assert response.status_code == 200, response.text
        return {m["id"]: m for m in response.json()}

    def wait_delivered(self, message_id: str, timeout: float = 15.0) -> dict[str, Any]:
        return wait_for(
            lambda: (m := self.message(message_id))["status"] == "delivered" and m,
            timeout,
            f"message {message_id} delivered",
            last=lambda: self.message(message_id),
        )

    def wait_ready(self, timeout: float = 10.0) -> dict[str, dict[str, Any]]:
        return wait_for(
            lambda: (m := self.modems()) and all(x["state"] == "ready" for x in m.values()) and m,
            timeout,
            "both modems ready",
            last=self.modems,
        )

    def new_key(self, name: str = "other", scopes: Iterable[str] = apikeys.SCOPES) -> tuple[str, int]:
        """Create another API key row (every scope unless told); returns (plaintext key, row id)."""
        return add_key(self.gateway, name, scopes)


def settings_for(database_url: str, **overrides: Any) -> Settings:
    modems = [
        ModemSettings(id=f"sim{i}", port=f"sim://sim{i}", sends_per_minute=600, burst=10, daily_cap=0) for i in (1, 2)
    ]
    # The tests' webhook receivers listen on loopback, which the gateway posts to only when allowed.
    overrides.setdefault("webhooks", WebhookSettings(allow_networks=["127.0.0.1/32"]))
    overrides.setdefault("public_url", PUBLIC_URL)
    return Settings(database_url=database_url, default_region="NL", modems=modems, **overrides)


def add_key(gateway: Gateway, name: str, scopes: Iterable[str] = apikeys.SCOPES) -> tuple[str, int]:
    """A new API key holding `scopes` (all of them unless told); (plaintext key, row id)."""
    with session(gateway.engine, write=True) as s:  # the running gateway writes meanwhile
        new, row = apikeys.create(s, name, scopes)
        s.commit()
    assert row.id is not None
    return new.key, row.id


@contextmanager
def running_api(settings: Settings) -> Iterator[Api]:
    """The app with its gateway started (TestClient runs the lifespan), modems ready, one key
    holding every scope."""
    clock = SkewClock()
    gateway = Gateway(settings, clock=clock, timing=FAST, extensions=automation(settings))
    app = create_app(settings, gateway=gateway, resolver=resolve)
    try:
        with TestClient(app) as client:
            key, key_id = add_key(gateway, "tests")
            api = Api(client, app, gateway, clock, key, key_id)
            api.wait_ready()
            yield api
    finally:
        gateway.engine.dispose()


def wait_for(
    predicate: Callable[[], T], timeout: float, what: str, *, last: Callable[[], Any] | None = None, every: float = 0.05
) -> T:
    """`harness.waiting.wait_until`, polling more often: the API tests' gateway runs in this process."""
    return wait_until(predicate, timeout=timeout, what=what, interval=every, last=last)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is `status` with the documented error body; returns its `error` object."""
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict), body
    assert isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"], body
    if code is not None:
        assert error["code"] == code, body
    return error


def error_fields(error: dict[str, Any]) -> set[str]:
    """The fields a 422 error names."""
    return {f["field"] for f in error.get("fields", [])}


def message_count(api: Api) -> int:
    with api.gateway.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM message")).scalar_one()
