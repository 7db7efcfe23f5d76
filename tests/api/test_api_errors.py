"""The one table from the gateway's errors to HTTP answers."""

from __future__ import annotations

import pytest

from api.errors import ANSWERS, answer_for
from drivers import CmsError, ConfigError, ModemgateError, PduError
from gateway.audience.contacts import AlreadyExists
from gateway.campaigns.lifecycle import WrongState
from gateway.core.errors import GatewayError, IdempotencyConflict, InvalidInput, NotFound


@pytest.mark.parametrize(
    "error, status, code, body",
    [
        (
            InvalidInput("to", "not a number"),
            422,
            "invalid_request",
            {"fields": [{"field": "to", "message": "to: not a number"}]},
        ),
        (
            InvalidInput("cursor", "bad", summary="invalid"),
            422,
            "invalid_request",
            {"fields": [{"field": "cursor", "message": "invalid"}]},
        ),
        (NotFound("contact", 7), 404, "not_found", {}),
        (AlreadyExists("list", "vip", 3), 409, "conflict", {"id": 3}),
        (WrongState(5, "sending", "change it"), 409, "conflict", {}),
        (IdempotencyConflict("k", "m-1"), 409, "idempotency_conflict", {"message_id": "m-1"}),
        (PduError("too long"), 422, "invalid_message", {"fields": [{"field": "text", "message": "too long"}]}),
        (ConfigError("unknown fault"), 422, "invalid_request", {}),
        (CmsError(500), 503, "unavailable", {}),
    ],
)
def test_each_error_answers_its_status_code_and_details(
    error: ModemgateError, status: int, code: str, body: dict
) -> None:
    answer = answer_for(error)
    assert (answer.status, answer.code, answer.details(error)) == (status, code, body)


def test_the_table_uses_the_gateway_errors_own_codes() -> None:
    for cls, answer in ANSWERS.items():
        if issubclass(cls, GatewayError):
            assert answer.code == cls.code, cls


def test_unencodable_text_names_the_text_field_in_its_message() -> None:
    assert answer_for(PduError("too long")).message(PduError("too long")) == "text: too long"
