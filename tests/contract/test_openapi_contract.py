"""The API answers as its OpenAPI schema says, for requests generated from that schema.

Every operation gets schemathesis' examples, boundary (coverage) and random cases, valid
and invalid, sent with a valid API key through the running app with two simulated modems.
Each answer must not be a 5xx, must have a status the operation documents and a body that
matches the documented schema.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from api.app import create_app
from tests.support.api import Api, settings_for

# Hundreds of generated requests: seconds, so not in the quick loop.
pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Random cases per operation, on top of schemathesis' boundary ("coverage") cases, which are
# most of the requests. Derandomized: CI runs the same cases every time.
MAX_EXAMPLES = 3

# The schema depends on the routes only: read it from an app that is never started.
schema = schemathesis.openapi.from_dict(create_app(settings_for("sqlite://")).openapi())

SENT: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def tally() -> Iterator[None]:
    """Print how many requests went to how many operations (seen with `pytest -s`)."""
    yield
    print(f"\nAPI contract: {len(SENT)} operations, {sum(SENT.values())} requests")


def test_the_schema_checked_is_the_one_the_app_serves(contract_api: Api) -> None:
    served = contract_api.client.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == schema.raw_schema
    assert len(list(schema.get_all_operations())) >= 17


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: schemathesis.Case, contract_api: Api) -> None:
    response = contract_api.client.request(**_httpx_kwargs(case, contract_api.headers))
    SENT[f"{case.operation.method.upper()} {case.operation.path}"] += 1
    case.validate_response(response, checks=CHECKS)


def _httpx_kwargs(case: schemathesis.Case, headers: dict[str, str]) -> dict[str, Any]:
    """The case as arguments of the app's TestClient (httpx), which runs in the gateway's
    event loop; schemathesis' own ASGI client would start the app a second time."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    kwargs.pop("cookies", None)  # the API reads none
    if "data" in kwargs:
        kwargs["content"] = kwargs.pop("data")
    return kwargs
