"""Console fixtures: the real app and gateway in this process (two simulated modems), with
one account per role, and a client signed in as each."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.core import accounts
from gateway.core.db import session
from tests.support.api import Api, running_api, settings_for

PASSWORD = "a long enough password"
ROLES = ("admin", "marketer", "viewer")


@dataclass
class Sleeps:
    """Stands in for the gateway clock's sleep at login: records, returns at once."""

    seconds: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@dataclass
class Console:
    api: Api
    sleeps: Sleeps

    def client(self) -> TestClient:
        """A fresh browser-like client (own cookies) for the same app."""
        return TestClient(self.api.app, follow_redirects=False)

    def signed_in(self, role: str) -> tuple[TestClient, str]:
        """A client signed in as the account of `role`, and its CSRF token."""
        client = self.client()
        response = login(client, role, PASSWORD)
        assert response.status_code == 303, response.text
        page = client.get("/messages")
        return client, csrf_of(page.text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def login(client: TestClient, name: str, password: str, next_path: str = "/"):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": name, "password": password, "csrf": token, "next": next_path})


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    path: Path = tmp_path_factory.mktemp("console") / "modemgate.db"
    with running_api(settings_for(f"sqlite:///{path}")) as api:
        # Read, then write, while the gateway writes: a plain BEGIN would be refused at once.
        with session(api.gateway.engine, write=True) as s:
            for role in ROLES:
                accounts.create_user(s, role, PASSWORD, role, now=api.clock.now())
            s.commit()
        sleeps = Sleeps()
        api.app.state.console.sleep = sleeps
        yield Console(api, sleeps)
