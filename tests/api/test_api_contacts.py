"""Contacts through the API: CRUD, import with bad rows, lists, segments, consent, timeline,
export and erasure, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.support.api import Api, assert_error, error_fields

_serial = itertools.count(1)


def number() -> str:
    """A Dutch mobile number no other test in the module uses."""
    return f"+31620{next(_serial):06d}"


def create(api: Api, **fields: Any) -> dict[str, Any]:
    response = api.post("/v1/contacts", json={"number": number(), **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_contact_is_created_read_changed_and_deleted(shared_any_api: Api) -> None:
    api = shared_any_api
    national = "06 20 99 00 01"
    response = api.post("/v1/contacts", json={"number": national, "first_name": "Anna", "fields": {"city": "Utrecht"}})
    assert response.status_code == 201, response.text
    contact = response.json()
    assert contact["number"] == "+31620990001"
    assert (contact["time_zone"], contact["time_zone_source"]) == ("Europe/Amsterdam", "number")
    assert (contact["consent"], contact["opted_out"], contact["lists"]) == (None, False, [])
    url = f"/v1/contacts/{contact['id']}"
    assert api.get(url).json() == contact
    patched = api.patch(
        url, json={"last_name": "de Vries", "fields": {"city": None, "vip": True}, "time_zone": "Asia/Tokyo"}
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["first_name"], body["last_name"], body["fields"]) == ("Anna", "de Vries", {"vip": True})
    assert (body["time_zone"], body["time_zone_source"]) == ("Asia/Tokyo", "given")
    assert api.client.delete(url, headers=api.headers).status_code == 204
    assert_error(api.get(url), 404, "not_found")
    assert_error(api.client.delete(url, headers=api.headers), 404, "not_found")


def test_a_second_contact_with_the_same_number_is_409_naming_the_first(shared_any_api: Api) -> None:
    first = create(shared_any_api)
    national = "0" + first["number"][3:]
    error = assert_error(shared_any_api.post("/v1/contacts", json={"number": national}), 409, "conflict")
    assert error["id"] == first["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"number": "12"}, "number"),
        ({"number": "+3162"}, "number"),
        ({"number": "+31620000999", "time_zone": "Mars/Base"}, "time_zone"),
        ({"number": "+31620000999", "fields": {"two words": 1}}, "fields.two words"),
        ({"number": "+31620000999", "first_name": "a\x00b"}, "first_name"),
        ({"number": "+31620000999", "lists": [2**31 + 5]}, "lists.0"),
    ],
)
def test_invalid_contacts_are_422_naming_the_field(shared_any_api: Api, body: dict, field: str) -> None:
    error = assert_error(shared_any_api.post("/v1/contacts", json=body), 422, "invalid_request")
    assert field in error_fields(error) or field.split(".")[0] in error_fields(error), error


def test_csv_import_reports_bad_rows_imports_the_rest_and_is_idempotent(shared_any_api: Api) -> None:
    api = shared_any_api
    members = api.post("/v1/lists", json={"name": f"csv-{next(_serial)}"}).json()
    good = [number() for _ in range(3)]
    csv = (
        "Number,First_Name,City,Score\n"
        f"{good[0]},Anna,Utrecht,7\n"
        "not-a-number,Bob,Gent,1\n"
        f"{good[1]},Carl,Zwolle,\n"
        f"{good[2]},Dora,Delft,3,extra\n"
        ",Eve,Ede,2\n"
    )
    url = f"/v1/contacts/import?list={members['id']}&consent_source=shop_counter&consent_proof=Signed+form"
    response = api.post(url, content=csv.encode(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created"], result["updated"], result["unchanged"]) == (3, 0, 0)
    assert [(e["row"], e["field"]) for e in result["errors"]] == [(2, "number"), (5, "number")]
    listed = api.get("/v1/contacts", params={"list": members["id"]}).json()["items"]
    assert sorted(c["number"] for c in listed) == sorted(good)
    assert {c["consent"] for c in listed} == {"opt_in"}
    again = api.post(url, content=csv.encode(), headers={"Content-Type": "text/csv; charset=utf-8"}).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert api.get(f"/v1/lists/{members['id']}").json()["size"] == 3


def test_json_import_with_an_opt_in(shared_any_api: Api) -> None:
    api = shared_any_api
    rows = [
        {"number": number(), "first_name": "Jo", "fields": {"score": 9.5}},
        {"number": "nope"},
        {"number": number(), "tier": "gold"},
    ]
    body = {"contacts": rows, "opt_in": {"source": "web_form", "proof": "Send me offers", "ip": "198.51.100.4"}}
    result = api.post("/v1/contacts/import", json=body).json()
    assert (result["created"], [e["row"] for e in result["errors"]]) == (2, [2])
    found = api.get("/v1/contacts", params={"number": rows[2]["number"]}).json()["items"]
    assert [(c["fields"], c["consent"]) for c in found] == [({"tier": "gold"}, "opt_in")]
    ledger = api.get(f"/v1/contacts/{found[0]['id']}/consent").json()
    assert [(r["kind"], r["source"], r["ip"]) for r in ledger] == [("opt_in", "web_form", "198.51.100.4")]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"number\n+31620000001\n", "application/xml", 415),
        (b"{not json", "application/json", 422),
        (b'{"contacts": "x"}', "application/json", 422),
        (b"name,city\nAnna,Utrecht\n", "text/csv", 422),
        (b"number\n\xff\xfe\n", "text/csv", 422),
    ],
)
def test_an_import_that_cannot_be_read_is_refused_whole(
    shared_any_api: Api, content: bytes, content_type: str, status: int
) -> None:
    response = shared_any_api.post("/v1/contacts/import", content=content, headers={"Content-Type": content_type})
    assert_error(response, status)


def test_listing_pages_with_a_cursor_and_filters_by_segment(shared_any_api: Api) -> None:
    api = shared_any_api
    tag = f"t{next(_serial)}"
    made = [create(api, fields={"tag": tag, "n": i}) for i in range(5)]
    segment = api.post(
        "/v1/segments",
        json={
            "name": tag,
            "rules": {
                "all": [
                    {"field": "fields.tag", "op": "eq", "value": tag},
                    {"field": "fields.n", "op": "gte", "value": 1},
                ]
            },
        },
    )
    assert segment.status_code == 201, segment.text
    assert segment.json()["size"] == 4
    seen = api.every("/v1/contacts", segment=segment.json()["id"], limit=3)
    assert [c["id"] for c in seen] == [c["id"] for c in reversed(made[1:])]  # newest first, each once
    assert_error(api.get("/v1/contacts", params={"cursor": "bogus"}), 422, "invalid_request")
    assert_error(api.get("/v1/contacts", params={"segment": 2**31 - 1}), 404, "not_found")


def test_lists_and_segments_are_managed(shared_any_api: Api) -> None:
    api = shared_any_api
    name = f"vip-{next(_serial)}"
    made = api.post("/v1/lists", json={"name": name, "kind": "exclude"}).json()
    assert (made["kind"], made["size"]) == ("exclude", 0)
    assert_error(api.post("/v1/lists", json={"name": name}), 409, "conflict")
    a, b = create(api), create(api)
    added = api.post(f"/v1/lists/{made['id']}/members", json={"contact_ids": [a["id"], b["id"], a["id"]]}).json()
    assert added == {"changed": 2, "size": 2}
    assert api.get(f"/v1/contacts/{a['id']}").json()["lists"] == [made["id"]]
    assert_error(api.post(f"/v1/lists/{made['id']}/members", json={"contact_ids": [2**31 - 1]}), 404)
    removed = api.post(f"/v1/lists/{made['id']}/members/remove", json={"contact_ids": [a["id"]]}).json()
    assert removed == {"changed": 1, "size": 1}
    assert name in [x["name"] for x in api.get("/v1/lists").json()]
    assert api.client.delete(f"/v1/lists/{made['id']}", headers=api.headers).status_code == 204
    assert api.get(f"/v1/contacts/{b['id']}").json()["lists"] == []

    bad = api.post(
        "/v1/segments", json={"name": name, "rules": {"all": [{"field": "fields.x", "op": "near", "value": 1}]}}
    )
    assert "rules.all[0].op" in error_fields(assert_error(bad, 422, "invalid_request"))
    seg = api.post(
        "/v1/segments", json={"name": name, "rules": {"all": [{"field": "number", "op": "eq", "value": b["number"]}]}}
    ).json()
    assert seg["size"] == 1
    patched = api.patch(f"/v1/segments/{seg['id']}", json={"rules": {"any": []}}).json()
    assert (patched["name"], patched["size"]) == (name, 0)
    assert api.client.delete(f"/v1/segments/{seg['id']}", headers=api.headers).status_code == 204
    assert_error(api.get(f"/v1/segments/{seg['id']}"), 404, "not_found")


def test_consent_is_recorded_and_an_opt_in_does_not_undo_an_opt_out(shared_any_api: Api) -> None:
    api = shared_any_api
    contact = create(api)
    given = api.post(
        f"/v1/contacts/{contact['id']}/consent",
        json={"kind": "opt_in", "source": "web_form", "proof": "Yes", "ip": "2001:db8::1"},
    )
    assert given.status_code == 201, given.text
    assert given.json()["ip"] == "2001:db8::1"
    assert api.get(f"/v1/contacts/{contact['id']}").json()["consent"] == "opt_in"
    assert api.post("/v1/opt-outs", json={"number": contact["number"]}).status_code == 201
    api.post(f"/v1/contacts/{contact['id']}/consent", json={"kind": "opt_in", "source": "web_form"})
    after = api.get(f"/v1/contacts/{contact['id']}").json()
    assert (after["consent"], after["opted_out"]) == ("opt_in", True)
    assert_error(api.post(f"/v1/contacts/{contact['id']}/consent", json={"kind": "maybe", "source": "x"}), 422)
    assert_error(api.post("/v1/contacts/2147483647/consent", json={"kind": "opt_in", "source": "x"}), 404)


def test_the_timeline_shows_what_was_sent_its_report_and_the_consent_newest_first(shared_any_api: Api) -> None:
    api = shared_any_api
    contact = create(api)
    api.post(f"/v1/contacts/{contact['id']}/consent", json={"kind": "opt_in", "source": "web_form"})
    sent = api.send("Your code is 1234", to=contact["number"])
    api.wait_delivered(sent["id"])
    events = api.get(f"/v1/contacts/{contact['id']}/timeline").json()["items"]
    assert [e["type"] for e in events] == ["delivery_report", "message", "opt_in", "contact"]
    assert events[0]["data"] == {**events[0]["data"], "message_id": sent["id"], "status": "delivered"}
    assert (events[1]["data"]["text"], events[1]["data"]["status"]) == ("Your code is 1234", "delivered")
    first = api.get(f"/v1/contacts/{contact['id']}/timeline", params={"limit": 3}).json()
    rest = api.get(f"/v1/contacts/{contact['id']}/timeline", params={"cursor": first["next_cursor"]}).json()
    assert first["items"] + rest["items"] == events and rest["next_cursor"] is None
    assert_error(api.get(f"/v1/contacts/{contact['id']}/timeline", params={"cursor": "bogus"}), 422)


def test_export_then_erase_leaves_only_a_hashed_opt_out(shared_any_api: Api) -> None:
    api = shared_any_api
    contact = create(api, first_name="Erin", fields={"city": "Ede"})
    api.post(f"/v1/contacts/{contact['id']}/consent", json={"kind": "opt_in", "source": "web_form"})
    exported = api.get(f"/v1/contacts/{contact['id']}/export").json()
    assert exported["contact"]["first_name"] == "Erin" and [c["kind"] for c in exported["consent"]] == ["opt_in"]
    erased = api.post(f"/v1/contacts/{contact['id']}/erase")
    assert erased.status_code == 200, erased.text
    assert (erased.json()["suppression_reason"], erased.json()["consent_records"]) == ("erased", 1)
    assert_error(api.get(f"/v1/contacts/{contact['id']}"), 404)
    assert_error(api.get(f"/v1/contacts/{contact['id']}/export"), 404)
    entries = api.get("/v1/opt-outs", params={"reason": "erased", "limit": 200}).json()["items"]
    mine = [e for e in entries if e["number_hash"] == erased.json()["number_hash"]]
    assert [e["number"] for e in mine] == [None]
    assert contact["number"] not in api.get("/v1/opt-outs/export").text
    # Back from an old spreadsheet: a contact again, but still opted out.
    again = api.post("/v1/contacts", json={"number": contact["number"]}).json()
    assert again["opted_out"] is True


def test_contacts_need_an_api_key(shared_any_api: Api) -> None:
    assert_error(shared_any_api.client.get("/v1/contacts"), 401, "unauthorized")
    assert_error(
        shared_any_api.client.post("/v1/contacts/import", content=b"number\n", headers={"Content-Type": "text/csv"}),
        401,
    )
