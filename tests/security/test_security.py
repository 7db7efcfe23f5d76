"""Security checks over the whole /v1 API, on SQLite and PostgreSQL.

The routes and their phone-number and text inputs are read from the app (tests.support.security), so a
route added later is checked without touching this file. tests/api/test_api_security.py and
test_api_limits.py hold the first cases (bad keys on SQLite, the message's own fields, 413 on
the message and webhook routes); these carry them to every route and both databases, and add
near-miss keys, the constant-time comparison, keys made by the CLI, bodies that are not UTF-8
and webhook signatures checked the way a receiver reading only the documentation would.
Tracked links redirect only to the target stored with their code, whatever the request adds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli import app as cli
from gateway.campaigns import links
from gateway.core import apikeys
from gateway.core.db import session
from gateway.core.models import Link
from tests.support.api import Api, assert_error, error_fields
from tests.support.receiver import receiving
from tests.support.security import (
    Field,
    Operation,
    body_limit,
    body_with,
    minimal_body,
    phone_and_text_fields,
    row_counts,
    v1_operations,
)

# NUL (which PostgreSQL text cannot hold), a terminal escape, a C1 control (NEL); the
# message's own fields are tried with more in tests/api/test_api_security.py.
CONTROL = ["\x00", "\x1b[2J", "\x85"]
SQL = ["'; DROP TABLE message; --", "1 OR 1=1"]
TEN_MB = 10_000_000
LONG_URL_VALUE = 60_000  # in a query or path: the HTTP client refuses URLs over 64 KiB (servers do too)
JSON = {"content-type": "application/json"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def unrefused(api: Api) -> TestClient:
    """A client that returns a 500 as a response instead of raising it (the gateway runs already)."""
    return TestClient(api.app, raise_server_exceptions=False)


def valid_body(op: Operation) -> dict[str, Any] | None:
    if op.body is not None:
        return minimal_body(op.body)
    return {} if op.takes_body else None


def writes(api: Api) -> list[Operation]:
    return [op for op in v1_operations(api.app) if op.method in ("POST", "PUT", "PATCH")]


def readers(api: Api) -> list[Operation]:
    """The operations that read a request body."""
    return [op for op in v1_operations(api.app) if op.takes_body]


# --- API keys ---------------------------------------------------------------------------------


def test_every_v1_route_refuses_a_missing_wrong_or_near_miss_key(each_db_api: Api) -> None:
    api = each_db_api
    assert api.get("/v1/modems").status_code == 200  # the real key works, and is remembered a while
    prefix = apikeys.parse_prefix(api.key)
    last = "A" if api.key[-1] != "A" else "B"
    credentials = {
        "no key": {},
        "wrong key": bearer(apikeys.generate().key),
        "right prefix, wrong secret": bearer(f"mg_{prefix}_{secrets.token_urlsafe(24)}"),
        "last character changed": bearer(api.key[:-1] + last),
    }
    operations = v1_operations(api.app)
    assert len(operations) >= 20
    before = row_counts(api.gateway.engine)
    for name, headers in credentials.items():
        for op in operations:
            # A valid body, so that the key is the only thing wrong with the request.
            response = api.client.request(op.method, op.path(), headers=headers, json=valid_body(op))
            assert response.status_code == 401, (name, str(op), response.status_code, response.text[:200])
            assert_error(response, 401, "unauthorized")
            assert response.headers["www-authenticate"] == "Bearer", (name, str(op))
    assert row_counts(api.gateway.engine) == before


def test_a_near_miss_key_is_refused_by_a_constant_time_comparison_of_hashes(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def watching(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", watching)
    near = sqlite_api.key[:-1] + ("A" if sqlite_api.key[-1] != "A" else "B")
    assert_error(sqlite_api.client.get("/v1/modems", headers=bearer(near)), 401, "unauthorized")
    with sqlite_api.gateway.engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT key_hash FROM api_key WHERE id = :id"), {"id": sqlite_api.key_id}
        ).scalar_one()
    assert (apikeys.hash_key(near), stored) in compared


def test_a_key_made_by_the_cli_is_stored_only_as_its_hash_and_opens_the_api(
    each_db_api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = each_db_api
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODEMGATE_DATABASE_URL", api.gateway.settings.database_url)
    done = CliRunner().invoke(cli, ["apikey", "create", "security-check"])
    assert done.exit_code == 0, done.output
    key = done.stdout.strip()
    secret = key.split("_", 2)[2]
    assert apikeys.parse_prefix(key) is not None and len(secret) == 32

    engine = api.gateway.engine
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                for value in row:
                    assert secret not in str(value), f"the key's secret is stored in {table}"
    assert api.client.get("/v1/modems", headers=bearer(key)).status_code == 200


# --- bodies -----------------------------------------------------------------------------------


def test_a_body_that_is_not_utf8_is_401_without_a_key_and_an_error_with_one(sqlite_api: Api) -> None:
    raw = b'{"text": "\xff\xfe\xfd"}'
    client = unrefused(sqlite_api)
    for op in writes(sqlite_api):
        without = client.request(op.method, op.path(), content=raw, headers=JSON)
        assert without.status_code == 401, (str(op), without.status_code, without.text[:200])
        assert_error(without, 401, "unauthorized")
        with_key = client.request(op.method, op.path(), content=raw, headers={**JSON, **sqlite_api.headers})
        assert 400 <= with_key.status_code < 500, (str(op), with_key.status_code, with_key.text[:200])
        error = assert_error(with_key, with_key.status_code)
        if op.body is not None:
            assert with_key.status_code == 422 and error_fields(error) == {"body"}, (str(op), error)


def test_every_route_that_takes_a_body_refuses_one_over_the_limit(sqlite_api: Api) -> None:
    before = row_counts(sqlite_api.gateway.engine)
    operations = readers(sqlite_api)
    assert {"POST /v1/messages", "PATCH /v1/modems/{modem_id}"} <= {str(op) for op in operations}
    for op in operations:
        oversized = b'{"text": "' + b"x" * body_limit(sqlite_api.app, op.path()) + b'"}'
        declared = sqlite_api.client.request(
            op.method, op.path(), content=oversized, headers={**JSON, **sqlite_api.headers}
        )
        assert declared.status_code == 413, (str(op), declared.status_code)
        assert_error(declared, 413, "payload_too_large")
        pieces = (oversized[i : i + 16384] for i in range(0, len(oversized), 16384))
        streamed = sqlite_api.client.request(
            op.method, op.path(), content=pieces, headers={**JSON, **sqlite_api.headers}
        )
        assert streamed.status_code == 413, (str(op), "streamed", streamed.status_code)
        assert_error(streamed, 413, "payload_too_large")
    assert row_counts(sqlite_api.gateway.engine) == before


# --- hostile values in phone numbers and texts ------------------------------------------------


def hostile_values(field: Field) -> list[str]:
    """Values a phone number or a text must be refused with. An SQL fragment is refused as a
    number; in a text it is text (tests/api/test_api_security.py: stored as sent)."""
    size = TEN_MB if field.where == "body" else LONG_URL_VALUE
    if field.kind == "phone":
        return [f"+3161234{c}5678" for c in CONTROL] + SQL + ["9" * size]
    return [f"hello{c}world" for c in CONTROL] + ["x" * size]


def send_hostile(client: TestClient, api: Api, field: Field, value: str) -> Any:
    op = field.operation
    if field.where == "body":
        assert op.body is not None
        return client.request(op.method, op.path(), json=body_with(op.body, field.name, value), headers=api.headers)
    if field.where == "query":
        return client.request(
            op.method, op.path(), params={field.name: value}, json=valid_body(op), headers=api.headers
        )
    path = op.path(**{field.name: quote(value, safe="")})
    return client.request(op.method, path, json=valid_body(op), headers=api.headers)


def test_phone_numbers_and_texts_refuse_control_characters_sql_and_10_mb_with_the_store_unchanged(
    each_db_api: Api,
) -> None:
    api = each_db_api
    fields = phone_and_text_fields(v1_operations(api.app))
    assert {(str(f.operation), f.name) for f in fields} >= {("POST /v1/messages", "to"), ("POST /v1/messages", "text")}
    client = unrefused(api)
    problems = []
    for field in fields:
        for value in hostile_values(field):
            before = row_counts(api.gateway.engine)
            response = send_hostile(client, api, field, value)
            shown = repr(value[:20]) + ("…" if len(value) > 20 else "")
            too_big = field.where == "body" and len(value) > body_limit(api.app, field.operation.path())
            expected = 413 if too_big else 422
            if response.status_code != expected:
                problems.append(f"{field} = {shown}: {response.status_code} {response.text[:150]}")
                continue
            error = assert_error(response, expected)
            named = {re.sub(r"\.\d+$", "", f) for f in error_fields(error)}  # numbers.0: the item of a list
            if not too_big and named != {field.name}:
                problems.append(f"{field} = {shown}: 422 names {error_fields(error)}, not {field.name!r}")
            if row_counts(api.gateway.engine) != before:
                problems.append(f"{field} = {shown}: the store changed")
    assert not problems, "\n".join(problems)


# --- webhook signatures -----------------------------------------------------------------------


def verify_as_documented(secret: str, body: bytes, header: str | None, now: int) -> bool:
    """A receiver written from the documentation alone (gateway/core/signing.py): the header is
    `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`; refuse a `t` more than
    five minutes from our clock."""
    if not header:
        return False
    items = dict(item.strip().split("=", 1) for item in header.split(",") if "=" in item)
    stamp, mac = items.get("t", ""), items.get("v1", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > 300:
        return False
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, mac)


def test_a_webhook_verifies_with_the_documented_header_and_secret_and_not_once_its_time_is_changed(
    fresh_api: Api,
) -> None:
    from gateway.core.signing import verify

    secret = "whsec_" + secrets.token_urlsafe(24)
    with receiving() as inbox:
        created = fresh_api.post(
            "/v1/webhooks", json={"url": inbox.url, "events": ["message.status"], "secret": secret}
        )
        assert created.status_code == 201, created.text
        fresh_api.send("signed, please")
        post = inbox.next()
    header = post.headers["modemgate-signature"]  # the documented header, read as receivers read it
    now = int(time.time())
    assert verify_as_documented(secret, post.body, header, now)
    assert verify(secret, post.body, header, now=now)

    stamp = int(header.split(",")[0].removeprefix("t="))
    mac = header.split("v1=", 1)[1]
    tampered = {
        "a second later": f"t={stamp + 1},v1={mac}",
        "a minute earlier": f"t={stamp - 60},v1={mac}",
        "no time": f"v1={mac}",
        "no signature": f"t={stamp}",
    }
    for name, forged in tampered.items():
        assert not verify_as_documented(secret, post.body, forged, now), name
        assert not verify(secret, post.body, forged, now=now), name


# --- tracked links: no open redirect ---------------------------------------------------------


def test_a_short_link_redirects_only_to_its_stored_target(sqlite_api: Api) -> None:
    target = "https://shop.example/sale?utm_source=sms&utm_medium=sms&utm_campaign=spring"
    code = links.new_code()
    with session(sqlite_api.gateway.engine) as s:
        s.add(Link(code=code, target=target, created_at=sqlite_api.gateway.clock.now()))
        s.commit()
    # Whatever rides along with a real code, the answer is the stored target (with the
    # click's own id for the shop, nothing from the request).
    for suffix in ("", "?url=https://evil.example", "?next=//evil.example", "#https://evil.example"):
        response = sqlite_api.client.get(f"/r/{code}{suffix}", follow_redirects=False)
        stored, _, click_id = response.headers["location"].partition("&mg_click=")
        assert (response.status_code, stored) == (302, target), suffix
        assert links.is_code(click_id), response.headers["location"]
    # Anything that is not a stored code redirects nowhere.
    hostile = [
        "https%3A%2F%2Fevil.example", "%2F%2Fevil.example", "evil.example", "..%2F..%2Fadmin",
        code.lower() if code.lower() != code else code.upper(), code + "x", code[:-1], "\\\\evil.example", "javascript:alert(1)",
    ]  # fmt: skip
    for code_like in hostile:
        response = sqlite_api.client.get(f"/r/{code_like}", follow_redirects=False)
        assert response.status_code == 404 and "location" not in response.headers, code_like
        assert response.json()["error"]["code"] == "not_found"
