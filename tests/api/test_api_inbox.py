"""Inbound SMS: injected through the simulator control routes, read back from GET /v1/inbox."""

from __future__ import annotations

import pytest

from tests.support.api import Api, assert_error, error_fields, wait_for


def _inbox(api: Api, **params: str) -> list[dict]:
    response = api.get("/v1/inbox", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_an_inbound_sms_shows_in_the_inbox(api: Api) -> None:
    injected = api.post("/v1/simulator/inbound", json={"modem": "sim1", "from": "+31687654321", "text": "STOP"})
    assert injected.status_code == 202 and injected.json() == {"parts": 1}

    (item,) = wait_for(lambda: _inbox(api), 10, "the inbound SMS stored")
    assert item["modem"] == "sim1" and item["sender"] == "+31687654321" and item["text"] == "STOP"
    assert item["complete"] is True and item["parts_total"] == item["parts_received"] == 1


def test_a_concatenated_inbound_sms_is_reassembled(api: Api) -> None:
    text = "Dag! Een lang antwoord met emoji 👋 dat over meerdere delen gaat. " * 4
    injected = api.post("/v1/simulator/inbound", json={"modem": "sim2", "from": "+31687654321", "text": text})
    assert injected.status_code == 202 and injected.json()["parts"] > 1

    def complete() -> list[dict]:
        items = _inbox(api)
        return items if items and items[0]["complete"] else []

    (item,) = wait_for(complete, 10, "the inbound SMS reassembled", last=lambda: _inbox(api))
    assert item["text"] == text and item["modem"] == "sim2"
    assert item["parts_total"] == item["parts_received"] == injected.json()["parts"]
    assert item["flagged"] is False and item["completed_at"] is not None


def test_inbox_filters_and_pages(api: Api) -> None:
    for i in range(5):
        api.post("/v1/simulator/inbound", json={"modem": "sim1", "from": f"+3168765432{i}", "text": f"reply {i}"})
    wait_for(lambda: len(_inbox(api)) == 5, 10, "five inbound stored")
    assert [m["text"] for m in _inbox(api, sender="+31687654322")] == ["reply 2"]
    assert _inbox(api, modem="sim2") == []

    seen = [m["id"] for m in api.every("/v1/inbox", limit=2)]
    assert sorted(seen) == sorted({m["id"] for m in _inbox(api)}) and len(seen) == 5


@pytest.mark.parametrize(
    "body, status, code, field",
    [
        ({"modem": "sim9", "from": "+31687654321", "text": "hi"}, 404, "not_found", None),
        ({"modem": "sim1", "text": "hi"}, 422, "invalid_request", "from"),
        ({"modem": "sim1", "from": "+31687654321", "text": "Привет", "encoding": "gsm7"}, 422, None, None),
        (
            {"modem": "sim1", "from": "+31687654321", "text": "x", "encoding": "utf8"},
            422,
            "invalid_request",
            "encoding",
        ),
    ],
)
def test_bad_inbound_injections_are_rejected(
    shared_api: Api, body: dict, status: int, code: str | None, field: str | None
) -> None:
    error = assert_error(shared_api.post("/v1/simulator/inbound", json=body), status, code)
    if field:
        assert error_fields(error) == {field}


@pytest.mark.parametrize("params", [{"limit": 0}, {"cursor": "nonsense"}])
def test_bad_inbox_parameters_are_422(shared_api: Api, params: dict) -> None:
    assert_error(shared_api.get("/v1/inbox", params=params), 422, "invalid_request")
