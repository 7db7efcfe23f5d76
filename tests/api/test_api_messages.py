"""POST /v1/messages and reading messages back: the lifecycle, validation, idempotency, listing."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from gateway.core.db import session
from gateway.core.models import MessageAttempt
from tests.support.api import Api, assert_error, error_fields, message_count, wait_for

# Unique per run: these tests share one gateway (and its idempotency keys) per module.
_RUN = uuid.uuid4().hex[:8]
KEY_ORDER_1, KEY_ORDER_2, KEY_ORDER_3, KEY_SHARED_NAME = (
    f"{name}-{_RUN}" for name in ("order-1", "order-2", "order-3", "shared")
)


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_message_is_accepted_queued_then_delivered_with_per_part_details(any_api: Api) -> None:
    accepted = any_api.send("hello from the API", to="+31612345678")

    assert accepted["id"] and accepted["status"] == "queued"
    assert accepted["parts_total"] == 1 and len(accepted["parts"]) == 1
    assert accepted["parts"][0]["status"] == "pending" and accepted["encoding"] == "gsm7"

    done = any_api.wait_delivered(accepted["id"])
    assert done["modem"] in ("sim1", "sim2") and done["sent_at"] is not None
    (part,) = done["parts"]
    assert part["status"] == "delivered" and part["modem"] == done["modem"]
    assert 0 <= part["message_reference"] <= 255
    assert part["report_status"] == 0
    # The report's discharge time has whole seconds (3GPP TS 23.040 §9.2.3.11).
    assert _time(part["delivered_at"]) >= _time(part["submitted_at"]).replace(microsecond=0)

    reports = any_api.get(f"/v1/messages/{accepted['id']}/delivery-reports").json()
    assert [(r["message_id"], r["part"], r["status"]) for r in reports] == [(accepted["id"], 1, "delivered")]
    assert reports[0]["message_reference"] == part["message_reference"] and reports[0]["modem"] == done["modem"]


def test_multipart_ucs2_with_emoji_goes_out_whole_through_one_modem(api: Api) -> None:
    # 25 UTF-16 code units (each emoji takes two) nine times: 225 units, 67 a part, 4 parts.
    text = "Grüße aus Amsterdam 🚲🌷 " * 9
    accepted = api.send(text)
    assert accepted["encoding"] == "ucs2" and accepted["parts_total"] == 4

    done = api.wait_delivered(accepted["id"])
    assert done["text"] == text
    assert [p["seq"] for p in done["parts"]] == [1, 2, 3, 4]
    assert {p["modem"] for p in done["parts"]} == {done["modem"]}
    assert all(p["status"] == "delivered" and p["message_reference"] is not None for p in done["parts"])
    references = [p["message_reference"] for p in done["parts"]]
    assert len(set(references)) == 4

    reports = api.get(f"/v1/messages/{accepted['id']}/delivery-reports").json()
    assert sorted(r["part"] for r in reports) == [1, 2, 3, 4]
    assert {r["modem"] for r in reports} == {done["modem"]}

    network = api.get("/v1/simulator/network").json()
    assert [m["text"] for m in network["messages"] if m["text"] == text] == [text]


def test_national_number_is_stored_in_e164(shared_api: Api) -> None:
    accepted = shared_api.send(to="0612345678")
    assert accepted["to"] == "+31612345678"
    assert shared_api.message(accepted["id"])["to"] == "+31612345678"


@pytest.mark.parametrize("to", ["12", "+999123456789", "06123", "not a number", "+31 6 1234 5678 9999"])
def test_an_invalid_number_is_422_naming_to(shared_api: Api, to: str) -> None:
    before = message_count(shared_api)
    error = assert_error(shared_api.post("/v1/messages", json={"to": to, "text": "hi"}), 422)
    assert error_fields(error) == {"to"}
    assert message_count(shared_api) == before


def test_text_that_gsm7_cannot_hold_is_422_naming_text(shared_api: Api) -> None:
    before = message_count(shared_api)
    response = shared_api.post("/v1/messages", json={"to": "+31612345678", "text": "Привет", "encoding": "gsm7"})
    error = assert_error(response, 422, "invalid_message")
    assert error_fields(error) == {"text"}
    assert message_count(shared_api) == before


@pytest.mark.parametrize(
    "text",
    [
        "ж" * (255 * 67 + 1),  # UCS-2: 256 parts
        "{" * 20_000,  # GSM-7 escapes: two septets each, 40,000 septets, 262 parts
    ],
    ids=["ucs2", "gsm7-escapes"],
)
def test_more_than_255_parts_is_422_naming_text(shared_api: Api, text: str) -> None:
    before = message_count(shared_api)
    error = assert_error(shared_api.post("/v1/messages", json={"to": "+31612345678", "text": text}), 422)
    assert error_fields(error) == {"text"}
    assert message_count(shared_api) == before


def test_255_parts_are_accepted(api: Api) -> None:
    api.patch("/v1/modems/sim1", json={"enabled": False})
    api.patch("/v1/modems/sim2", json={"enabled": False})
    accepted = api.send("x" * (255 * 153))
    assert accepted["parts_total"] == 255


def test_text_over_the_schema_limit_is_422_naming_text(shared_api: Api) -> None:
    error = assert_error(shared_api.post("/v1/messages", json={"to": "+31612345678", "text": "x" * 39_016}), 422)
    assert error_fields(error) == {"text"}


@pytest.mark.parametrize("text", ["", " ", "   ", "\n", " \t\r\n ", "\u00a0\u3000"])
def test_blank_text_is_422_naming_text_and_nothing_is_stored(shared_api: Api, text: str) -> None:
    before = message_count(shared_api)
    error = assert_error(shared_api.post("/v1/messages", json={"to": "+31612345678", "text": text}), 422)
    assert error_fields(error) == {"text"}
    assert message_count(shared_api) == before


def test_the_schema_says_text_may_not_be_blank(shared_api: Api) -> None:
    schema = shared_api.client.get("/openapi.json").json()["components"]["schemas"]["MessageIn"]
    text = schema["properties"]["text"]
    assert text["minLength"] == 1 and text["pattern"] == r"\S"


def test_a_message_delivered_after_a_failed_attempt_shows_no_error_but_keeps_its_history(api: Api) -> None:
    api.post("/v1/simulator/faults", json={"modem": "sim1", "cms_error": 500, "cms_error_count": 1})
    sent = api.send("try twice", modem="sim1")
    wait_for(lambda: api.message(sent["id"])["attempt_history"], 10, "the first attempt failing")
    api.clock.advance(minutes=10)  # the retry is due, whenever it was set
    api.gateway.wake()
    delivered = api.wait_delivered(sent["id"])
    assert delivered["last_error"] is None
    history = delivered["attempt_history"]
    assert [(a["attempt"], a["modem"], a["outcome"]) for a in history] == [(1, "sim1", "retry"), (2, "sim1", "sent")]
    assert "500" in history[0]["error"] and history[1]["error"] is None


def test_missing_and_mistyped_fields_are_422_naming_them(shared_api: Api) -> None:
    before = message_count(shared_api)
    error = assert_error(shared_api.post("/v1/messages", json={"text": "hi"}), 422, "invalid_request")
    assert error_fields(error) == {"to"}
    error = assert_error(shared_api.post("/v1/messages", json={"to": "+31612345678", "text": 5}), 422)
    assert error_fields(error) == {"text"}
    error = assert_error(
        shared_api.post("/v1/messages", json={"to": "+31612345678", "text": "hi", "modem": "sim9"}), 422
    )
    assert error_fields(error) == {"modem"}
    error = assert_error(shared_api.post("/v1/messages", json=["not", "an", "object"]), 422)
    error = assert_error(
        shared_api.post(
            "/v1/messages", content=b'{"to": "+31612345678", "text": ', headers={"content-type": "application/json"}
        ),
        422,
    )
    assert message_count(shared_api) == before


def test_idempotency_key_in_the_body_replays_the_same_message(shared_api: Api) -> None:
    before = message_count(shared_api)
    first = shared_api.post("/v1/messages", json={"to": "+31612345678", "text": "once", "idempotency_key": KEY_ORDER_1})
    again = shared_api.post("/v1/messages", json={"to": "+31612345678", "text": "once", "idempotency_key": KEY_ORDER_1})
    assert first.status_code == again.status_code == 202
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert message_count(shared_api) == before + 1


def test_idempotency_key_header_replays_the_same_message(shared_api: Api) -> None:
    before = message_count(shared_api)
    body = {"to": "0612345678", "text": "once"}
    first = shared_api.post("/v1/messages", json=body, headers={"Idempotency-Key": KEY_ORDER_2})
    again = shared_api.post("/v1/messages", json=body, headers={"Idempotency-Key": KEY_ORDER_2})
    assert first.status_code == again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and first.json()["idempotency_key"] == KEY_ORDER_2
    # Written as national or international, it is the same request.
    third = shared_api.post(
        "/v1/messages", json={**body, "to": "+31612345678"}, headers={"Idempotency-Key": KEY_ORDER_2}
    )
    assert third.status_code == 202 and third.json()["id"] == first.json()["id"]
    assert message_count(shared_api) == before + 1


def test_same_idempotency_key_with_another_body_is_409(shared_api: Api) -> None:
    before = message_count(shared_api)
    first = shared_api.send("first", idempotency_key=KEY_ORDER_3)
    error = assert_error(
        shared_api.post("/v1/messages", json={"to": "+31612345678", "text": "second", "idempotency_key": KEY_ORDER_3}),
        409,
        "idempotency_conflict",
    )
    assert error["message_id"] == first["id"]
    assert message_count(shared_api) == before + 1


def test_idempotency_keys_belong_to_one_api_key(shared_api: Api) -> None:
    other, _ = shared_api.new_key()
    mine = shared_api.send("mine", idempotency_key=KEY_SHARED_NAME)
    theirs = shared_api.client.post(
        "/v1/messages",
        json={"to": "+31612345678", "text": "theirs", "idempotency_key": KEY_SHARED_NAME},
        headers={"Authorization": f"Bearer {other}"},
    )
    assert theirs.status_code == 202 and theirs.json()["id"] != mine["id"]


def test_unknown_message_is_404(shared_api: Api) -> None:
    assert_error(shared_api.get("/v1/messages/00000000-0000-0000-0000-000000000000"), 404, "not_found")
    assert_error(shared_api.get("/v1/messages/00000000-0000-0000-0000-000000000000/delivery-reports"), 404, "not_found")
    assert_error(shared_api.get("/v1/messages/no-such-id"), 404, "not_found")
    assert_error(shared_api.get("/v1/no-such-route"), 404, "not_found")
    assert_error(shared_api.client.put("/v1/messages", headers=shared_api.headers), 405, "method_not_allowed")


def test_another_keys_message_is_404(shared_api: Api) -> None:
    other, _ = shared_api.new_key()
    mine = shared_api.send("mine")
    response = shared_api.client.get(f"/v1/messages/{mine['id']}", headers={"Authorization": f"Bearer {other}"})
    assert_error(response, 404, "not_found")
    listed = shared_api.client.get("/v1/messages", headers={"Authorization": f"Bearer {other}"}).json()
    assert listed["items"] == []


def test_listing_filters_by_status_and_pages_with_a_cursor(api: Api) -> None:
    api.patch("/v1/modems/sim1", json={"enabled": False})
    api.patch("/v1/modems/sim2", json={"enabled": False})
    ids = [api.send(f"message {i}")["id"] for i in range(25)]

    pages = api.pages("/v1/messages", status="queued", limit=10)
    seen = [m["id"] for page in pages for m in page["items"]]
    assert all(m["status"] == "queued" for page in pages for m in page["items"])
    assert len(pages) == 3 and len(seen) == 25 and set(seen) == set(ids)
    assert seen == list(reversed(ids))  # newest first
    assert api.get("/v1/messages", params={"status": "delivered"}).json() == {"items": [], "next_cursor": None}


def test_cursor_pages_through_messages_sharing_one_timestamp(api: Api) -> None:
    api.patch("/v1/modems/sim1", json={"enabled": False})
    api.patch("/v1/modems/sim2", json={"enabled": False})
    api.clock.frozen = api.clock.now()
    ids = {api.send(f"message {i}")["id"] for i in range(12)}
    api.clock.frozen = None
    seen = [m["id"] for m in api.every("/v1/messages", limit=5)]
    assert len(seen) == 12 and set(seen) == ids


def test_listing_by_status_follows_delivery(api: Api) -> None:
    ids = {api.send(f"message {i}")["id"] for i in range(5)}
    wait_for(
        lambda: {m["id"] for m in api.get("/v1/messages", params={"status": "delivered"}).json()["items"]} == ids,
        15,
        "all five listed as delivered",
    )
    assert api.get("/v1/messages", params={"status": "queued"}).json()["items"] == []


@pytest.mark.parametrize(
    "params",
    [{"status": "lost"}, {"limit": 0}, {"limit": 201}, {"cursor": "not-a-cursor"}, {"cursor": "W10"}],
)
def test_bad_listing_parameters_are_422(shared_api: Api, params: dict) -> None:
    error = assert_error(shared_api.get("/v1/messages", params=params), 422, "invalid_request")
    assert error_fields(error) == {next(iter(params))}


def test_an_idempotency_key_header_too_long_is_422_naming_it(shared_api: Api) -> None:
    response = shared_api.post(
        "/v1/messages", json={"to": "+31612345678", "text": "hi"}, headers={"Idempotency-Key": "k" * 129}
    )
    assert error_fields(assert_error(response, 422, "invalid_request")) == {"idempotency-key"}


def test_a_body_that_is_not_json_is_422_naming_the_body(shared_api: Api) -> None:
    response = shared_api.post("/v1/messages", content=b'{"to": ', headers={"content-type": "application/json"})
    error = assert_error(response, 422, "invalid_request")
    assert error_fields(error) == {"body"} and "JSON" in error["message"]


def test_delivery_reports_are_listed_filtered_and_paged(api: Api) -> None:
    ids = {api.send(f"report {i}")["id"] for i in range(3)}
    for message_id in ids:
        api.wait_delivered(message_id)
    reports = api.get("/v1/delivery-reports", params={"matched": True}).json()["items"]
    assert {r["message_id"] for r in reports} == ids and all(r["status"] == "delivered" for r in reports)
    assert api.get("/v1/delivery-reports", params={"matched": False}).json()["items"] == []
    for modem in ("sim1", "sim2"):
        by_modem = api.get("/v1/delivery-reports", params={"modem": modem}).json()["items"]
        assert {r["modem"] for r in by_modem} <= {modem}

    seen = [r["id"] for r in api.every("/v1/delivery-reports", limit=2)]
    assert sorted(seen) == sorted(r["id"] for r in reports)

    other, _ = api.new_key()
    theirs = api.client.get("/v1/delivery-reports", headers={"Authorization": f"Bearer {other}"}).json()
    assert theirs["items"] == []


def test_an_attempt_interrupted_by_a_stopped_sender_is_shown_in_the_history(api: Api) -> None:
    api.patch("/v1/modems/sim1", json={"enabled": False})
    api.patch("/v1/modems/sim2", json={"enabled": False})
    queued = api.send("waits")
    error = "its sender stopped before the attempt ended; part 1 may have reached the network (a resend may repeat it)"
    with session(api.gateway.engine) as s:  # as outbox.recover records it after a crash
        s.add(MessageAttempt(message_id=queued["id"], attempt=1, modem_id="sim1", outcome="interrupted",
                             error=error, at=api.clock.now()))  # fmt: skip
        s.commit()
    history = api.message(queued["id"])["attempt_history"]
    assert [(a["attempt"], a["modem"], a["outcome"], a["error"]) for a in history] == [
        (1, "sim1", "interrupted", error)
    ]
