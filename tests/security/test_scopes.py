"""Key scopes over every /v1 route, on SQLite and PostgreSQL: each route declares the one scope
it needs (`send`, `marketing` or `admin`), refuses a key without it with 403
`insufficient_scope` before reading the body and with the store unchanged, and lets a key
holding only that scope through. An opt-out that came from a STOP is lifted only with a
reason and new proof of consent, both kept in the consent ledger.

The routes are read from the app (tests.support.security), so a route added later is
checked without touching this file.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.audience import consent
from gateway.core import apikeys
from gateway.core.db import session
from gateway.core.models import ConsentRecord
from tests.support.api import Api, assert_error, wait_for
from tests.support.security import Operation, minimal_body, row_counts, v1_operations

JSON = {"content-type": "application/json"}

# The operator actions of the issue, pinned: any other scope would let an integration do them.
OPERATOR = {
    "PATCH /v1/modems/{modem_id}": "admin",
    "POST /v1/simulator/faults": "admin",
    "POST /v1/simulator/inbound": "admin",
    "GET /v1/simulator/network": "admin",
    "DELETE /v1/opt-outs/{number}": "marketing",
    "POST /v1/opt-outs/{number}/remove": "marketing",
    "POST /v1/messages": "send",
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def valid_body(op: Operation) -> dict[str, Any] | None:
    if op.body is not None:
        return minimal_body(op.body)
    return {} if op.takes_body else None


def scopes_by_operation(api: Api) -> dict[str, str]:
    """`METHOD /path` → the one scope the route declares, for every /v1 route the app serves."""
    found = {}
    for op in v1_operations(api.app):
        assert len(op.scopes) == 1, f"{op} declares {op.scopes}: take the key as SendKey, MarketingKey or AdminKey"
        found[str(op)] = op.scopes[0]
    return found


def test_every_v1_route_declares_exactly_one_scope(sqlite_api: Api) -> None:
    declared = scopes_by_operation(sqlite_api)
    assert len(declared) >= 40
    assert {name: declared[name] for name in OPERATOR} == OPERATOR
    assert set(declared.values()) == set(apikeys.SCOPES)


def test_every_v1_route_refuses_a_key_without_its_scope_with_403_and_the_store_unchanged(each_db_api: Api) -> None:
    api = each_db_api
    scopes = scopes_by_operation(api)
    # For each scope, a key holding both others: the one missing is the only thing wrong.
    lacking = {scope: api.new_key(f"no-{scope}", set(apikeys.SCOPES) - {scope})[0] for scope in apikeys.SCOPES}
    operations = v1_operations(api.app)
    before = row_counts(api.gateway.engine)
    for op in operations:
        needed = scopes[str(op)]
        headers = bearer(lacking[needed])
        response = api.client.request(op.method, op.path(), headers=headers, json=valid_body(op))
        error = assert_error(response, 403, "insufficient_scope")
        assert error["required_scope"] == needed, (str(op), error)
        assert needed in error["message"], (str(op), error)
        if op.takes_body:
            # Refused before the body is read: a body that is not even JSON changes nothing.
            deep = "[" * 3000 + "]" * 3000
            refused = api.client.request(op.method, op.path(), headers={**headers, **JSON}, content=deep)
            assert_error(refused, 403, "insufficient_scope")
    assert row_counts(api.gateway.engine) == before


def test_a_key_holding_only_the_routes_scope_is_let_through(fresh_api: Api) -> None:
    api = fresh_api
    scopes = scopes_by_operation(api)
    only = {scope: api.new_key(f"only-{scope}", [scope])[0] for scope in apikeys.SCOPES}
    for op in v1_operations(api.app):
        response = api.client.request(op.method, op.path(), headers=bearer(only[scopes[str(op)]]), json=valid_body(op))
        assert response.status_code not in (401, 403), (str(op), response.status_code, response.text[:200])


def test_a_key_made_before_scopes_keeps_working_and_a_new_one_sends_only(fresh_api: Api) -> None:
    api = fresh_api
    with session(api.gateway.engine) as s:
        new, row = apikeys.create(s, "default")
        s.commit()
    assert row.scopes == "send"
    assert api.client.get("/v1/messages", headers=bearer(new.key)).status_code == 200
    for path in ("/v1/contacts", "/v1/simulator/network"):
        assert_error(api.client.get(path, headers=bearer(new.key)), 403, "insufficient_scope")
    disabled = api.client.patch("/v1/modems/sim1", headers=bearer(new.key), json={"enabled": False})
    assert_error(disabled, 403, "insufficient_scope")
    assert api.modems()["sim1"]["enabled"] is True


# --- an opt-out from a STOP -----------------------------------------------------------------


def stop_from(api: Api, number: str) -> None:
    """The person texts STOP; wait until it is on the suppression list."""
    sent = api.post("/v1/simulator/inbound", json={"modem": "sim1", "from": number, "text": "STOP"})
    assert sent.status_code == 202, sent.text
    wait_for(
        lambda: any(e["number"] == number for e in api.every("/v1/opt-outs", reason="stop")),
        15,
        f"{number} opted out by STOP",
    )


def ledger(api: Api, number: str) -> list[ConsentRecord]:
    with session(api.gateway.engine) as s:
        return consent.consent_history(s, number)


def test_a_stop_opt_out_is_lifted_only_with_a_reason_and_new_proof_and_the_ledger_keeps_both(fresh_api: Api) -> None:
    api = fresh_api
    number = "+31612340077"
    stop_from(api, number)
    # The STOP's confirmation is still on its way (its report changes the store): watch the consent.
    consent_rows = ("suppression", "consent_record", "webhook_delivery")
    before = {t: row_counts(api.gateway.engine)[t] for t in consent_rows}

    without = api.client.request("DELETE", f"/v1/opt-outs/{number}", headers=api.headers)
    error = assert_error(without, 422, "invalid_request")
    assert "reason" in {f["field"] for f in error["fields"]} and "STOP" in error["message"]
    for partial in ({"reason": "asked at the counter"}, {"source": "paper_form", "proof": "form 12"}):
        refused = api.client.request("DELETE", f"/v1/opt-outs/{number}", headers=api.headers, json=partial)
        assert_error(refused, 422, "invalid_request")
    blank = {"reason": "   ", "source": "paper_form", "proof": "form 12"}
    assert_error(api.post(f"/v1/opt-outs/{number}/remove", json=blank), 422, "invalid_request")
    assert {t: row_counts(api.gateway.engine)[t] for t in consent_rows} == before
    with session(api.gateway.engine) as s:
        assert consent.suppression_for(s, number) is not None
        assert not consent.may_send(s, number, "transactional").allowed

    removal = {
        "reason": "customer re-subscribed in the shop",
        "source": "paper_form",
        "proof": "signed form 2026-117",
        "ip": "192.0.2.7",
    }
    lifted = api.client.request("DELETE", f"/v1/opt-outs/{number}", headers=api.headers, json=removal)
    assert lifted.status_code == 204, lifted.text
    records = ledger(api, number)
    assert [(r.kind, r.source) for r in records] == [("opt_out", "keyword"), ("opt_in", "paper_form")]
    assert (records[1].reason, records[1].proof, records[1].ip) == (
        removal["reason"],
        removal["proof"],
        removal["ip"],
    )
    with session(api.gateway.engine) as s:
        assert consent.suppression_for(s, number) is None
    accepted = api.send("welcome back", to=number)
    api.wait_delivered(accepted["id"])


def test_the_post_form_lifts_a_stop_opt_out_as_the_delete_with_a_body_does(fresh_api: Api) -> None:
    api = fresh_api
    number = "+31612340078"
    stop_from(api, number)
    removal = {"reason": "re-subscribed on the web", "source": "web_form", "proof": "I want the offers again"}
    assert api.post(f"/v1/opt-outs/{number}/remove", json={}).status_code == 422
    assert api.post(f"/v1/opt-outs/{number}/remove", json=removal).status_code == 204
    assert [r.kind for r in ledger(api, number)] == ["opt_out", "opt_in"]
    assert_error(api.post(f"/v1/opt-outs/{number}/remove", json=removal), 404, "not_found")


@pytest.mark.parametrize("reason", ["manual", "import"])
def test_an_opt_out_not_from_a_stop_is_lifted_without_a_body_as_before(fresh_api: Api, reason: str) -> None:
    api = fresh_api
    number = "+31612340079"
    if reason == "manual":
        assert api.post("/v1/opt-outs", json={"number": number}).status_code == 201
    else:
        assert api.post("/v1/opt-outs/import", json={"numbers": [number]}).status_code == 200
    assert api.client.request("DELETE", f"/v1/opt-outs/{number}", headers=api.headers).status_code == 204
    assert [r.kind for r in ledger(api, number)] == ["opt_out"]
