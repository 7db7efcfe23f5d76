"""Opt-outs through the API: add, list, remove, import, export, and the `optout` webhook event,
on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import itertools

import pytest

from tests.support.api import Api, assert_error, error_fields

_serial = itertools.count(1)


def number() -> str:
    """A Dutch mobile number no other test in the module uses."""
    return f"+31630{next(_serial):06d}"


def entries(api: Api, **params: object) -> list[dict]:
    """Every opt-out, following the cursor."""
    return api.every("/v1/opt-outs", **{"limit": 200, **params})


def test_an_opt_out_is_added_once_listed_and_removed(shared_any_api: Api) -> None:
    api = shared_any_api
    mine = number()
    national = "0" + mine[3:]
    added = api.post("/v1/opt-outs", json={"number": national})
    assert added.status_code == 201, added.text
    assert (added.json()["number"], added.json()["reason"]) == (mine, "manual")
    again = api.post("/v1/opt-outs", json={"number": mine})
    assert again.status_code == 200 and again.json()["created_at"] == added.json()["created_at"]
    assert [e["number"] for e in entries(api, reason="manual")].count(mine) == 1
    assert api.client.delete(f"/v1/opt-outs/{mine}", headers=api.headers).status_code == 204
    assert mine not in [e["number"] for e in entries(api)]
    assert_error(api.client.delete(f"/v1/opt-outs/{national}", headers=api.headers), 404, "not_found")


def test_an_opt_out_queues_the_optout_webhook_event(shared_any_api: Api) -> None:
    api = shared_any_api
    hook = api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": ["optout"]}).json()
    mine = number()
    api.post("/v1/opt-outs", json={"number": mine})
    api.post("/v1/opt-outs", json={"number": mine})  # not news: no second event
    deliveries = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
    assert [d["event"] for d in deliveries] == ["optout"]
    api.client.delete(f"/v1/webhooks/{hook['id']}", headers=api.headers)


@pytest.mark.parametrize("body", [{"number": "12"}, {"number": "+3163"}, {"number": "abc"}, {}])
def test_an_invalid_number_is_422(shared_any_api: Api, body: dict) -> None:
    error = assert_error(shared_any_api.post("/v1/opt-outs", json=body), 422, "invalid_request")
    assert "number" in error_fields(error)


def test_csv_import_with_a_header_reports_bad_rows_and_adds_the_rest(shared_any_api: Api) -> None:
    api = shared_any_api
    good = [number(), number()]
    api.post("/v1/opt-outs", json={"number": good[1]})
    text = f"name;Phone\nAnna;{good[0]}\nBob;rubbish\nCarl;{good[1]}\nDora;\n"
    response = api.post("/v1/opt-outs/import", content=text.encode(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["added"], result["existing"]) == (1, 1)
    assert [(e["row"], e["number"]) for e in result["errors"]] == [(2, "rubbish"), (4, None)]
    reasons = {e["number"]: e["reason"] for e in entries(api)}
    assert (reasons[good[0]], reasons[good[1]]) == ("import", "manual")


def test_import_takes_a_bare_list_of_numbers_or_json(shared_any_api: Api) -> None:
    api = shared_any_api
    bare = [number(), number()]
    text = "\n".join(bare) + "\n"
    result = api.post("/v1/opt-outs/import", content=text.encode(), headers={"Content-Type": "text/plain"}).json()
    assert (result["added"], result["errors"]) == (2, [])
    listed = [number(), "0" + number()[3:]]
    result = api.post("/v1/opt-outs/import", json={"numbers": [*listed, None]}).json()
    assert (result["added"], [e["row"] for e in result["errors"]]) == (2, [3])
    assert_error(api.post("/v1/opt-outs/import", json={"numbers": "x"}), 422, "invalid_request")
    assert_error(api.post("/v1/opt-outs/import", content=b"x", headers={"Content-Type": "image/png"}), 415)


def test_export_is_csv_of_the_whole_list(shared_any_api: Api) -> None:
    api = shared_any_api
    mine = number()
    api.post("/v1/opt-outs", json={"number": mine})
    response = api.get("/v1/opt-outs/export")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert set(rows[0]) == {"number", "number_sha256", "reason", "created_at", "source_message_id"}
    assert [r["reason"] for r in rows if r["number"] == mine] == ["manual"]
    assert len(rows) == len(entries(api))


def test_listing_pages_and_filters_by_reason(shared_any_api: Api) -> None:
    api = shared_any_api
    for _ in range(3):
        api.post("/v1/opt-outs", json={"number": number()})
    first = api.get("/v1/opt-outs", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get("/v1/opt-outs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert not {e["number_hash"] for e in first["items"]} & {e["number_hash"] for e in second["items"]}
    assert {e["reason"] for e in entries(api, reason="import")} <= {"import"}
    assert_error(api.get("/v1/opt-outs", params={"reason": "bored"}), 422)
    assert_error(api.client.get("/v1/opt-outs"), 401)
