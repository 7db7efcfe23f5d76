"""Request bodies over `max_body_bytes` are refused with 413, declared or streamed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.api import Api, assert_error, message_count

LIMIT = 64 * 1024  # Settings.max_body_bytes default


def _oversized() -> bytes:
    return json.dumps({"to": "+31612345678", "text": "x" * (LIMIT + 10)}).encode()


def _chunks(body: bytes, size: int = 8192) -> Iterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


def test_the_limit_is_the_configured_one(shared_api: Api) -> None:
    assert shared_api.gateway.settings.max_body_bytes == LIMIT


def test_a_declared_oversized_body_is_413(shared_api: Api) -> None:
    before = message_count(shared_api)
    response = shared_api.post("/v1/messages", content=_oversized(), headers={"content-type": "application/json"})
    error = assert_error(response, 413, "payload_too_large")
    assert str(LIMIT) in error["message"]
    assert message_count(shared_api) == before


def test_a_streamed_oversized_body_is_413(shared_api: Api) -> None:
    before = message_count(shared_api)
    response = shared_api.post(
        "/v1/messages", content=_chunks(_oversized()), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_error(response, 413, "payload_too_large")
    assert message_count(shared_api) == before


@pytest.mark.parametrize("path", ["/v1/webhooks", "/v1/simulator/inbound", "/v1/simulator/faults"])
def test_every_route_has_the_limit(shared_api: Api, path: str) -> None:
    body = b'{"pad": "' + b"x" * (LIMIT + 1) + b'"}'
    assert_error(shared_api.post(path, content=body, headers={"content-type": "application/json"}), 413)
    assert_error(shared_api.post(path, content=_chunks(body), headers={"content-type": "application/json"}), 413)


def test_a_body_under_the_limit_passes(shared_api: Api) -> None:
    body = json.dumps({"to": "+31612345678", "text": "x" * 1000}).encode()
    response = shared_api.post("/v1/messages", content=_chunks(body, 100), headers={"content-type": "application/json"})
    assert response.status_code == 202, response.text


def test_bulk_imports_take_more_than_a_message_up_to_their_own_limit(shared_api: Api) -> None:
    rows = "".join(f"+31655{i:06d},Name{i}\n" for i in range(5000))  # ~100 KB: over the message limit
    body = ("number,first_name\n" + rows).encode()
    assert len(body) > LIMIT
    response = shared_api.post("/v1/contacts/import", content=body, headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text[:300]
    assert response.json()["errors"] == [] and response.json()["created"] + response.json()["unchanged"] == 5000
    too_big = b"number\n" + b"+31612345678\n" * (shared_api.gateway.settings.max_import_bytes // 13 + 1)
    error = assert_error(
        shared_api.post("/v1/opt-outs/import", content=too_big, headers={"content-type": "text/csv"}), 413
    )
    assert str(shared_api.gateway.settings.max_import_bytes) in error["message"]
