"""Outbound HTTP goes only where the operator allows, and nothing goes for a revoked key.

Every URL a request can carry (read from the app's request models, so a URL field added
later is checked too) refuses the hostile targets of an SSRF with a 422 naming the field,
and leaves the store unchanged. A delivery to a target that is not allowed (one stored
before the gate, or a name that now resolves elsewhere) is recorded as `blocked_address`,
and what clients see of failed attempts are coarse reasons, not a port scanner's output.
`modemgate apikey revoke` stops the key's webhooks and its messages' callbacks.
"""

from __future__ import annotations

import json
import socket
import time
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, HttpUrl
from typer.testing import CliRunner

from cli import app as cli
from gateway.core import apikeys
from gateway.core.db import session
from gateway.core.models import ApiKey, Webhook, WebhookDelivery
from gateway.core.settings import WebhookSettings
from harness.pgschema import throwaway_schema
from tests.support.api import Api, assert_error, error_fields, running_api, settings_for, wait_for
from tests.support.receiver import receiving
from tests.support.security import Operation, body_with, row_counts, v1_operations

HOSTILE = [
    "http://169.254.169.254/latest/meta-data/iam/",  # the cloud metadata service
    "http://10.0.0.1/hook",
    "http://[fd00::1]/hook",
    "http://2130706433/hook",  # 127.0.0.1 written as one number
    "http://0x7f.1:8080/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "http://[::1]:6379/",
    "http://0.0.0.0:22/",
    "http://localhost:8000/v1/modems",
    "http://192.168.1.1/admin",
    "http://100.100.100.200/latest/meta-data/",  # another provider's metadata, shared address space
    "http://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
    "http://user:pw@hooks.example/hook",  # credentials
    "https://token@hooks.example/hook",
    "ftp://hooks.example/x",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
]
COARSE = {"timeout", "refused", "http_status", "blocked_address", "tls", "dns", "connection"}


def url_fields(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """The (dotted) fields of `model` that take a URL, nested models included."""
    for name, info in model.model_fields.items():
        alias = prefix + (info.alias or name)
        types = (info.annotation, *typing.get_args(info.annotation))
        if HttpUrl in types or any(
            typing.get_origin(t) is typing.Annotated and HttpUrl in typing.get_args(t) for t in types
        ):
            yield alias
        for t in types:
            if isinstance(t, type) and issubclass(t, BaseModel):
                yield from url_fields(t, alias + ".")


def url_inputs(api: Api) -> list[tuple[Operation, str]]:
    return [(op, name) for op in v1_operations(api.app) if op.body is not None for name in url_fields(op.body)]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def closed_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A gateway with the default [webhooks] settings: no private target allowed."""
    closed = WebhookSettings()
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("egress") / "modemgate.db"
        with running_api(settings_for(f"sqlite:///{path}", webhooks=closed)) as running:
            yield running
    else:
        with throwaway_schema("mg_egress") as url, running_api(settings_for(url, webhooks=closed)) as running:
            yield running


def test_every_url_input_refuses_every_ssrf_target_with_a_422_and_the_store_unchanged(closed_api: Api) -> None:
    api = closed_api
    inputs = url_inputs(api)
    named = {(str(op), name) for op, name in inputs}
    assert {("POST /v1/webhooks", "url"), ("POST /v1/messages", "callback_url")} <= named, named
    before = row_counts(api.gateway.engine)
    for op, name in inputs:
        for url in HOSTILE:
            response = api.client.request(
                op.method,
                op.path(),
                headers=api.headers,
                json=body_with(op.body, name, url),  # type: ignore[arg-type]
            )
            error = assert_error(response, 422, "invalid_request")
            assert error_fields(error) == {name}, (str(op), url, error)
            assert "Traceback" not in error["message"] and len(error["message"]) < 400, error
    assert row_counts(api.gateway.engine) == before
    listed = api.get("/v1/webhooks")
    assert listed.status_code == 200 and listed.json() == []


def test_the_refusal_says_why_and_how_the_operator_opens_a_private_target(closed_api: Api) -> None:
    cases = {
        "http://169.254.169.254/latest/": "link-local",
        "http://2130706433/": "loopback",
        "http://[::ffff:127.0.0.1]/": "127.0.0.1, a loopback",
        "http://[fd00::1]/": "private",
        "http://10.0.0.1/": "private",
        "http://user:pw@hooks.example/": "credentials",
    }
    for url, words in cases.items():
        error = assert_error(closed_api.post("/v1/webhooks", json={"url": url, "events": ["optout"]}), 422)
        assert words in error["message"], (url, error["message"])
        if "credentials" not in words:
            assert "allow_networks" in error["message"]
        assert "pw" not in error["message"]


def test_a_delivery_to_a_target_that_is_not_allowed_is_blocked_at_connect_time(closed_api: Api) -> None:
    """A webhook stored before the gate (or a name rebound since) reaches nothing: the
    attempt is refused before any connection and recorded only as `blocked_address`."""
    api = closed_api
    with session(api.gateway.engine) as s:
        hook = Webhook(api_key_id=api.key_id, url="http://169.254.169.254/latest/meta-data/", secret="s" * 16,
                       events="message.status")  # fmt: skip
        s.add(hook)
        s.commit()
        s.refresh(hook)
    api.send("to the metadata service?")
    rows = wait_for(
        lambda: [r for r in api.get(f"/v1/webhooks/{hook.id}/deliveries").json() if r["attempts"]],
        10, "an attempted delivery",
    )  # fmt: skip
    assert {r["last_error"] for r in rows} == {"blocked_address"} and all(r["last_status"] is None for r in rows)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_failed_attempts_show_only_coarse_reasons(tmp_path: Path) -> None:
    """A closed port and a receiver that never answers: `refused` and `timeout`, no
    exception names or errno texts that would make the delivery log a port scanner."""
    hooks = WebhookSettings(allow_networks=["127.0.0.1/32"], timeout=1.0)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts, never answers
    try:
        with running_api(settings_for(f"sqlite:///{tmp_path / 'modemgate.db'}", webhooks=hooks)) as api:
            targets = {
                "refused": f"http://127.0.0.1:{closed_port()}/hook",
                "timeout": f"http://127.0.0.1:{listener.getsockname()[1]}/hook",
            }
            ids = {}
            for reason, url in targets.items():
                created = api.post("/v1/webhooks", json={"url": url, "events": ["message.status"]})
                assert created.status_code == 201, created.text
                ids[reason] = created.json()["id"]
            api.send("who is listening?")
            for reason, hook_id in ids.items():
                rows = wait_for(
                    lambda hook_id=hook_id: [r for r in api.get(f"/v1/webhooks/{hook_id}/deliveries").json() if r["attempts"]],
                    10, f"a {reason} attempt",
                )  # fmt: skip
                assert {r["last_error"] for r in rows} == {reason}, rows
            every = [r for hook_id in ids.values() for r in api.get(f"/v1/webhooks/{hook_id}/deliveries").json()]
            assert {r["last_error"] for r in every} <= COARSE | {None}
    finally:
        listener.close()


# --- revoked keys ------------------------------------------------------------------------------


def revoke_with_cli(api: Api, prefix: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODEMGATE_DATABASE_URL", api.gateway.settings.database_url)
    done = CliRunner().invoke(cli, ["apikey", "revoke", prefix])
    assert done.exit_code == 0, done.output
    return done.output


def deliveries(api: Api) -> list[dict[str, Any]]:
    with api.gateway.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(WebhookDelivery).order_by(WebhookDelivery.id))]


def message_status(api: Api, message_id: str) -> str:
    with api.gateway.engine.connect() as conn:
        return conn.execute(sa.text("SELECT status FROM message WHERE id = :i"), {"i": message_id}).scalar_one()


def test_a_revoked_keys_webhooks_and_callbacks_get_nothing_more(
    fresh_api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    api = fresh_api
    revoked_key, revoked_id = api.new_key("leaving")
    theirs = {"Authorization": f"Bearer {revoked_key}"}
    with receiving() as ours, receiving() as their_hook, receiving() as their_callback:
        mine = api.post("/v1/webhooks", json={"url": ours.url, "events": ["message.inbound", "optout"]})
        assert mine.status_code == 201, mine.text
        events = ["message.inbound", "optout", "message.status", "delivery_report"]
        hook = api.client.post("/v1/webhooks", headers=theirs, json={"url": their_hook.url, "events": events})
        assert hook.status_code == 201, hook.text

        # Before: their webhook and their message's callback get events.
        sent = api.client.post(
            "/v1/messages", headers=theirs,
            json={"to": "+31612345678", "text": "before", "callback_url": their_callback.url},
        )  # fmt: skip
        assert sent.status_code == 202, sent.text
        their_hook.next()
        their_callback.next()

        # A message still on its way when the key is revoked: its later events stay home.
        later = api.client.post(
            "/v1/messages", headers=theirs,
            json={"to": "+31612345679", "text": "queued before the revocation", "callback_url": their_callback.url},
        )  # fmt: skip
        assert later.status_code == 202
        prefix = apikeys.parse_prefix(revoked_key)
        assert prefix is not None
        output = revoke_with_cli(api, prefix, monkeypatch, tmp_path)
        assert "revoked" in output and "webhooks are disabled" in output
        with api.gateway.engine.connect() as conn:
            queued_before = conn.execute(sa.select(sa.func.max(WebhookDelivery.id))).scalar() or 0
        # A post already under way when the key was revoked cannot be called back: let those land.
        time.sleep(1.0)
        seen_at_revocation = (their_hook.posts.qsize(), their_callback.posts.qsize())

        # After: inbound messages and a STOP (events with no owner) reach our webhook only.
        for text in ("hello there", "STOP"):
            injected = api.post("/v1/simulator/inbound", json={"modem": "sim1", "from": "+31687654321", "text": text})
            assert injected.status_code == 202, injected.text
        got = {ours.next().headers["Modemgate-Event"] for _ in range(3)}
        assert got == {"message.inbound", "optout"}
        wait_for(lambda: message_status(api, later.json()["id"]) == "delivered", 15, "the last message delivered")
        time.sleep(1.0)  # several courier rounds
        assert (their_hook.posts.qsize(), their_callback.posts.qsize()) == seen_at_revocation
        # And what they got since the first event was queued before the revocation.
        for inbox in (their_hook, their_callback):
            while not inbox.posts.empty():
                assert json.loads(inbox.posts.get_nowait().body)["id"] <= queued_before

    # Through the API: the key is refused, and its webhook is disabled in the store.
    wait_for(lambda: api.client.get("/v1/webhooks", headers=theirs).status_code == 401, 10, "the revoked key refused")
    with session(api.gateway.engine) as s:
        assert s.get(ApiKey, revoked_id).revoked_at is not None  # type: ignore[union-attr]
        stored = s.get(Webhook, hook.json()["id"])
        assert stored is not None and not stored.enabled and stored.disabled_at is not None
    theirs_rows = [d for d in deliveries(api) if d["api_key_id"] == revoked_id or d["webhook_id"] == hook.json()["id"]]
    assert theirs_rows and all(d["delivered_at"] or d["gave_up_at"] for d in theirs_rows)
    posted_after = [d for d in theirs_rows if d["delivered_at"] and d["created_at"] > d["delivered_at"]]
    assert posted_after == []
