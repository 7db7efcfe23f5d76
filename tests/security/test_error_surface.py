"""The error surface over every route that takes a body: JSON nested 3,000 deep, a 5,000-digit
number, a number out of range, NaN, and bad idempotency keys each answer a documented 4xx
with a message that says what is wrong, and only after the key was checked (401 without
one). The served OpenAPI schema defines everything it refers to.
"""

from __future__ import annotations

from typing import Any

import pytest

from api.bodies import MAX_DEPTH, MAX_DIGITS
from tests.support.api import Api, assert_error, error_fields, message_count
from tests.support.security import Operation, row_counts, v1_operations

JSON = {"content-type": "application/json"}

# (name, body, what the message must say)
HOSTILE: list[tuple[str, bytes, str]] = [
    ("3,000 deep", b"[" * 3000 + b"]" * 3000, f"nested 3000 levels deep; at most {MAX_DEPTH}"),
    ("3,000 deep in an object", b'{"a":' * 3000 + b"1" + b"}" * 3000, "nested 3000 levels deep"),
    (
        "5,000-digit integer",
        b'{"to": "+31612345678", "text": "hi", "validity_minutes": ' + b"9" * 5000 + b"}",
        "5000 digits",
    ),
    ("4,000-digit integer", b'{"numbers": [' + b"1" * 4000 + b"]}", f"4000 digits; at most {MAX_DIGITS}"),
    ("number out of range", b'{"value": 1e999}', "out of range"),
    ("NaN", b'{"value": NaN}', "NaN is not a JSON value"),
    ("not UTF-8", b'{"text": "\xff\xfe"}', "not UTF-8"),
]


def readers(api: Api) -> list[Operation]:
    return [op for op in v1_operations(api.app) if op.takes_body]


def documented(api: Api, op: Operation) -> set[int]:
    operation = api.app.openapi()["paths"][op.template][op.method.lower()]
    return {int(status) for status in operation["responses"] if status.isdigit()}


@pytest.mark.parametrize(("name", "body", "says"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_body_is_401_without_a_key_and_a_documented_422_naming_it_with_one(
    each_db_api: Api, name: str, body: bytes, says: str
) -> None:
    api = each_db_api
    content = body
    operations = readers(api)
    assert {"POST /v1/messages", "POST /v1/contacts/import", "POST /v1/opt-outs/import"} <= {str(o) for o in operations}
    before = row_counts(api.gateway.engine)
    for op in operations:
        without = api.client.request(op.method, op.path(), content=content, headers=JSON)
        assert_error(without, 401, "unauthorized")
        response = api.client.request(op.method, op.path(), content=content, headers={**JSON, **api.headers})
        error = assert_error(response, 422, "invalid_request")
        assert 422 in documented(api, op), str(op)
        assert error_fields(error) == {"body"}, (str(op), error)
        assert says in error["message"], (str(op), error["message"])
    assert row_counts(api.gateway.engine) == before


def test_json_nested_to_the_limit_is_read_as_any_body(sqlite_api: Api) -> None:
    # A segment's rules nest groups four deep: well inside the limit; one level more than
    # MAX_DEPTH is refused as too deep, one less reaches validation like any body.
    inner: Any = {"field": "fields.city", "op": "eq", "value": "Utrecht"}
    for _ in range(4):
        inner = {"all": [inner]}
    created = sqlite_api.post("/v1/segments", json={"name": "deep rules", "rules": inner})
    assert created.status_code == 201, created.text
    for depth, says in ((MAX_DEPTH + 1, "nested"), (MAX_DEPTH, "")):
        body = '{"name": "x", "rules": ' + '{"a":' * (depth - 2) + "{}" + "}" * (depth - 2) + "}"
        response = sqlite_api.post("/v1/segments", content=body.encode(), headers=JSON)
        error = assert_error(response, 422, "invalid_request")
        assert ("nested" in error["message"]) == bool(says), (depth, error)


# --- idempotency keys: one rule for the header and the field ---------------------------------

BAD_KEYS = ["a b", "tab\there", "caf\u00e9", "del\x7f", "k" * 129, ""]


@pytest.mark.parametrize("bad", BAD_KEYS, ids=["space", "tab", "non-ascii", "del", "129 long", "empty"])
def test_a_bad_idempotency_key_is_422_in_the_header_and_in_the_body_alike(sqlite_api: Api, bad: str) -> None:
    api = sqlite_api
    before = message_count(api)
    body = {"to": "+31612345678", "text": "hi"}
    as_field = api.post("/v1/messages", json={**body, "idempotency_key": bad})
    assert error_fields(assert_error(as_field, 422, "invalid_request")) == {"idempotency_key"}
    header = bad.encode("latin-1")  # a header carries bytes; an empty one is a key given empty
    as_header = api.post("/v1/messages", json=body, headers={"Idempotency-Key": header})  # type: ignore[dict-item]
    assert error_fields(assert_error(as_header, 422, "invalid_request")) == {"idempotency-key"}
    without = api.client.post("/v1/messages", json=body, headers={"Idempotency-Key": header})  # type: ignore[dict-item]
    assert_error(without, 401, "unauthorized")
    assert message_count(api) == before


def test_an_idempotency_key_in_both_places_must_be_the_same(sqlite_api: Api) -> None:
    api = sqlite_api
    before = message_count(api)
    body = {"to": "+31612345678", "text": "both", "idempotency_key": "order-both-1"}
    differ = api.post("/v1/messages", json=body, headers={"Idempotency-Key": "order-both-2"})
    error = assert_error(differ, 422, "invalid_request")
    assert error_fields(error) == {"idempotency_key"} and "Idempotency-Key header" in error["message"]
    assert message_count(api) == before
    same = api.post("/v1/messages", json=body, headers={"Idempotency-Key": "order-both-1"})
    assert same.status_code == 202 and same.json()["idempotency_key"] == "order-both-1"
    replayed = api.post("/v1/messages", json={k: v for k, v in body.items() if k != "idempotency_key"},
                        headers={"Idempotency-Key": "order-both-1"})  # fmt: skip
    assert replayed.headers["idempotent-replayed"] == "true" and replayed.json()["id"] == same.json()["id"]


# --- the schema ---------------------------------------------------------------------------


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


def resolve(schema: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = schema
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_every_reference_in_the_served_schema_resolves(sqlite_api: Api) -> None:
    schema = sqlite_api.client.get("/openapi.json").json()
    found = refs(schema)
    assert "#/components/schemas/ContactImportIn" in found and "#/components/schemas/OptOutImportIn" in found
    for ref in set(found):
        resolve(schema, ref)
    imported = resolve(schema, "#/components/schemas/ContactImportIn")
    assert {"contacts", "lists", "opt_in"} <= set(imported["properties"])


def test_every_v1_operation_documents_401_and_403_and_every_body_413_and_422(sqlite_api: Api) -> None:
    schema = sqlite_api.client.get("/openapi.json").json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = set(operation["responses"])
            if path.startswith("/v1/"):
                assert {"401", "403"} <= responses, (method, path)
            if "requestBody" in operation:
                assert {"413", "422"} <= responses, (method, path)
