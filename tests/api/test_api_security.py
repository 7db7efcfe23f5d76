"""Authentication on every /v1 route, keys stored hashed, hostile input refused cleanly."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from gateway.core.db import transaction
from gateway.core.models import ApiKey
from tests.support.api import Api, assert_error, error_fields, message_count

_PATH_VALUES = {
    "message_id": "00000000-0000-0000-0000-000000000000",
    "modem_id": "sim1",
    "hook_id": "1",
    "delivery_id": "1",
    "contact_id": "1",
    "list_id": "1",
    "segment_id": "1",
    "number": "+31612345678",
    "campaign_id": "1",
    "rule_id": "1",
    "sequence_id": "1",
    "survey_id": "1",
}


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """The app's routes, descending into included routers."""
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI keeps included routers whole
        if included is not None:
            yield from _api_routes(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def _v1_routes(api: Api) -> list[tuple[str, str]]:
    routes = []
    templates = set()
    for route in _api_routes(api.app.routes):
        if route.path.startswith("/v1"):
            templates.add(route.path)
            path = re.sub(r"\{(\w+)\}", lambda m: _PATH_VALUES[m.group(1)], route.path)
            routes += [(method, path) for method in sorted(route.methods)]
    # Nothing missed: every /v1 path the OpenAPI schema documents was found.
    assert templates == {p for p in api.app.openapi()["paths"] if p.startswith("/v1")}
    return routes


def _revoked_key(api: Api) -> str:
    key, key_id = api.new_key("revoked")
    with transaction(api.gateway.engine) as conn:
        conn.execute(sa.update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=datetime.now(UTC)))
    return key


def _bad_credentials(api: Api) -> dict[str, dict[str, str]]:
    prefix = api.key.split("_")[1]
    return {
        "none": {},
        "empty bearer": {"Authorization": "Bearer "},
        "other scheme": {"Authorization": f"Basic {api.key}"},
        "malformed": {"Authorization": "Bearer not-a-key"},
        "well-formed, unknown": {"Authorization": "Bearer mg_0000abcd_" + "A" * 32},
        "right prefix, wrong secret": {"Authorization": f"Bearer mg_{prefix}_" + "B" * 32},
        "revoked": {"Authorization": f"Bearer {_revoked_key(api)}"},
    }


def test_every_v1_route_needs_a_valid_key(shared_api: Api) -> None:
    routes = _v1_routes(shared_api)
    assert len(routes) >= 15 and ("POST", "/v1/messages") in routes and ("PATCH", "/v1/modems/sim1") in routes
    before = message_count(shared_api)
    for name, headers in _bad_credentials(shared_api).items():
        for method, path in routes:
            body = {"to": "+31612345678", "text": "hi"} if method in ("POST", "PATCH") else None
            response = shared_api.client.request(method, path, headers=headers, json=body)
            error = assert_error(response, 401, "unauthorized")
            assert response.headers["www-authenticate"] == "Bearer", (name, method, path)
            assert "mg_" not in error["message"]
    assert message_count(shared_api) == before


def test_a_body_that_is_not_json_still_needs_a_key_first(shared_api: Api) -> None:
    for path in ("/v1/messages", "/v1/webhooks"):
        response = shared_api.client.post(path, content=b"{not json", headers={"content-type": "application/json"})
        assert_error(response, 401, "unauthorized")


def test_a_valid_key_opens_every_route(shared_api: Api) -> None:
    for method, path in _v1_routes(shared_api):
        response = shared_api.client.request(method, path, headers=shared_api.headers, json={})
        assert response.status_code != 401, (method, path, response.text)


def test_api_keys_are_stored_hashed(shared_api: Api) -> None:
    key = shared_api.key
    secret = key.split("_", 2)[2]
    with shared_api.gateway.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM api_key")).mappings().all()
    assert rows
    for row in rows:
        for value in row.values():
            assert key not in str(value) and secret not in str(value)
    assert len(rows[0]["key_hash"]) == 64


def test_failed_authentication_logs_no_key(shared_api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "mg_" + shared_api.key.split("_")[1] + "_" + "C" * 32
    for key in (wrong, shared_api.key[:-1], "mg_zzzzzzzz_" + "D" * 32):
        response = shared_api.client.get("/v1/messages", headers={"Authorization": f"Bearer {key}"})
        assert_error(response, 401, "unauthorized")
        assert key not in caplog.text and key[12:] not in caplog.text
    assert shared_api.key not in caplog.text


# --- hostile input ------------------------------------------------------------------------------

_SQL = "'; DROP TABLE message; --"
_CONTROL = ["\x00", "\x07", "\x1b", "\x7f", "\x85"]


@pytest.mark.parametrize(
    "value",
    [f"+3161234{c}5678" for c in _CONTROL]
    + [f"+31612345678{c}" for c in _CONTROL]
    + [_SQL, "+31612345678 ext. 12", "tel:+31612345678"],
)
def test_a_number_with_anything_but_digits_and_separators_is_422(shared_any_api: Api, value: str) -> None:
    before = message_count(shared_any_api)
    error = assert_error(shared_any_api.post("/v1/messages", json={"to": value, "text": "hi"}), 422)
    assert error_fields(error) == {"to"}
    assert message_count(shared_any_api) == before


@pytest.mark.parametrize("value", ["+31 6 1234 5678", "+31 (0)6-1234-5678", "06/12345678", "06.1234.5678"])
def test_numbers_written_with_separators_are_accepted(shared_api: Api, value: str) -> None:
    assert shared_api.send(to=value)["to"] == "+31612345678"


@pytest.mark.parametrize("char", [*_CONTROL, "\x01", "\x1f", "\x9f"])
def test_text_with_control_characters_is_422(shared_any_api: Api, char: str) -> None:
    before = message_count(shared_any_api)
    response = shared_any_api.post("/v1/messages", json={"to": "+31612345678", "text": f"hello{char}world"})
    error = assert_error(response, 422)
    assert error_fields(error) == {"text"}
    assert message_count(shared_any_api) == before


def test_text_keeps_line_breaks_and_tabs(shared_api: Api) -> None:
    text = "line one\nline two\r\nfield\tvalue\fnext page"
    assert shared_api.send(text)["text"] == text


def test_a_lone_surrogate_is_422(shared_any_api: Api) -> None:
    response = shared_any_api.post(
        "/v1/messages",
        content=b'{"to": "+31612345678", "text": "\\ud800"}',
        headers={"content-type": "application/json"},
    )
    assert error_fields(assert_error(response, 422)) == {"text"}


def test_sql_in_the_text_is_only_text(shared_any_api: Api) -> None:
    before = message_count(shared_any_api)
    accepted = shared_any_api.send(_SQL)
    assert shared_any_api.message(accepted["id"])["text"] == _SQL
    assert message_count(shared_any_api) == before + 1


@pytest.mark.parametrize("field", ["to", "text", "modem", "idempotency_key"])
def test_a_10_mb_field_is_413(shared_any_api: Api, field: str) -> None:
    before = message_count(shared_any_api)
    body = {"to": "+31612345678", "text": "hi", field: "9" * 10_000_000}
    assert_error(shared_any_api.post("/v1/messages", json=body), 413, "payload_too_large")
    assert message_count(shared_any_api) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"idempotency_key": "order\x00"}, "idempotency_key"),
        ({"idempotency_key": "order\n1"}, "idempotency_key"),
        ({"modem": "sim1\x00"}, "modem"),
    ],
)
def test_other_message_fields_with_control_characters_are_422(shared_any_api: Api, body: dict, field: str) -> None:
    before = message_count(shared_any_api)
    error = assert_error(shared_any_api.post("/v1/messages", json={"to": "+31612345678", "text": "hi", **body}), 422)
    assert error_fields(error) == {field}
    assert message_count(shared_any_api) == before


def test_a_webhook_secret_with_control_characters_is_422(shared_any_api: Api) -> None:
    body = {"url": "http://127.0.0.1:9/x", "events": ["message.status"], "secret": "\x00" * 16}
    assert error_fields(assert_error(shared_any_api.post("/v1/webhooks", json=body), 422)) == {"secret"}


@pytest.mark.parametrize(
    "path",
    [
        "/v1/messages?to=%00",
        "/v1/messages?to=" + "%27%3B%20DROP%20TABLE%20message%3B%20--",
        "/v1/inbox?sender=%00",
        "/v1/inbox?modem=%00",
        "/v1/delivery-reports?modem=%00",
    ],
)
def test_filters_with_control_characters_or_sql_are_422(shared_any_api: Api, path: str) -> None:
    assert_error(shared_any_api.get(path), 422, "invalid_request")


def test_a_list_filter_takes_a_number_as_submitted(shared_api: Api) -> None:
    accepted = shared_api.send("find me", to="0687654321")
    listed = shared_api.get("/v1/messages", params={"to": "06 8765 4321"}).json()["items"]
    assert [m["id"] for m in listed] == [accepted["id"]]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/messages/%00",
        "/v1/messages/%00/delivery-reports",
        "/v1/messages/" + "x" * 5000,
        "/v1/messages/%27%3B%20DROP%20TABLE%20message%3B%20--",
    ],
)
def test_odd_message_ids_are_404(shared_any_api: Api, path: str) -> None:
    assert_error(shared_any_api.get(path), 404, "not_found")
    assert message_count(shared_any_api) >= 0  # the table is still there


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/v1/webhooks/2147483648/deliveries"),
        ("GET", "/v1/webhooks/99999999999999999999/deliveries"),
        ("DELETE", "/v1/webhooks/9223372036854775808"),
        ("POST", "/v1/webhook-deliveries/99999999999999999999/replay"),
        ("GET", "/v1/webhooks/-1/deliveries"),
    ],
)
def test_ids_out_of_range_are_refused_cleanly(shared_any_api: Api, method: str, path: str) -> None:
    response = shared_any_api.client.request(method, path, headers=shared_any_api.headers)
    assert response.status_code in (404, 422)
    assert_error(response, response.status_code)


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "path",
    ["/v1/messages", "/v1/inbox", "/v1/delivery-reports"],
)
@pytest.mark.parametrize(
    "raw",
    [
        '["2020-01-01T00:00:00+00:00", 1e400]',
        '["2020-01-01T00:00:00+00:00", 99999999999999999999999]',
        '["2020-01-01T00:00:00+00:00", 3000000000]',
        '["2020-01-01T00:00:00+00:00", "\\u0000"]',
        '["9999-12-31T23:59:59.999999-23:59", 1]',
        '["0001-01-01T00:00:00+23:59", 1]',
        '{"a": 1, "b": 2}',
        '["2020-01-01T00:00:00+00:00", [1]]',
        "[]",
        "null",
    ],
)
def test_forged_cursors_are_422(shared_any_api: Api, path: str, raw: str) -> None:
    response = shared_any_api.get(path, params={"cursor": _cursor(raw)})
    error = assert_error(response, 422, "invalid_request")
    assert error_fields(error) == {"cursor"}


def test_an_unexpected_failure_is_500_with_the_error_body(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api.gateway, "submit", broken)
    client = TestClient(api.app, raise_server_exceptions=False)  # no lifespan: the gateway runs already
    response = client.post("/v1/messages", json={"to": "+31612345678", "text": "hi"}, headers=api.headers)
    assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.text


def test_json_that_is_not_an_object_is_422(shared_api: Api) -> None:
    for content in (b"[]", b"null", b'"text"', b"12", json.dumps({"to": None, "text": None}).encode()):
        response = shared_api.post("/v1/messages", content=content, headers={"content-type": "application/json"})
        assert_error(response, 422, "invalid_request")
