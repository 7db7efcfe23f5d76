"""Every API error is `{"error": {"code": …, "message": …}}` with a stable `code`.

The errors the gateway raises on purpose reach the client through one handler and one
table (`ANSWERS`): routers call the gateway and let its errors through. `ApiError` is
for what only the API knows (a missing key, a body that is not JSON).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import kannel
from drivers import ConfigError, ModemgateError, PduError
from gateway.audience.contacts import AlreadyExists
from gateway.campaigns.lifecycle import WrongState
from gateway.campaigns.links import OrderConflict
from gateway.core.apikeys import InsufficientScope
from gateway.core.errors import IdempotencyConflict, InvalidInput, NotFound, StorageUnavailable

__all__ = [
    "ApiError",
    "ANSWERS",
    "answer_for",
    "install_error_handlers",
    "error_body",
    "document_errors",
    "ERROR_SCHEMA",
]

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


@dataclass(frozen=True)
class Answer:
    """How the API answers one kind of error: status, body code, and what the body adds."""

    status: int
    code: str
    details: Callable[[Any], dict[str, Any]] = field(default=lambda exc: {})
    prefix: str = ""  # put before the error's message
    retry_after: int | None = None  # seconds, sent as Retry-After

    def message(self, exc: Exception) -> str:
        return f"{self.prefix}{exc}"


ANSWERS: dict[type[ModemgateError], Answer] = {
    InvalidInput: Answer(
        422, InvalidInput.code, lambda exc: {"fields": [{"field": exc.field, "message": exc.summary}]}
    ),
    NotFound: Answer(404, NotFound.code),
    AlreadyExists: Answer(409, AlreadyExists.code, lambda exc: {"id": exc.existing_id}),
    WrongState: Answer(409, WrongState.code),
    OrderConflict: Answer(409, OrderConflict.code, lambda exc: {"id": exc.existing_id}),
    IdempotencyConflict: Answer(409, IdempotencyConflict.code, lambda exc: {"message_id": exc.message_id}),
    # A valid key without the scope the route needs (api.deps.RequireScope).
    InsufficientScope: Answer(403, InsufficientScope.code, lambda exc: {"required_scope": exc.needed}),
    # Text the codec cannot encode: the request's `text` is at fault.
    PduError: Answer(
        422, "invalid_message", lambda exc: {"fields": [{"field": "text", "message": str(exc)}]}, "text: "
    ),
    # Settings given in a request (the simulator's faults); settings files fail at start.
    ConfigError: Answer(422, "invalid_request"),
    # The database cannot take the request now (disk full, read-only, locked, gone).
    StorageUnavailable: Answer(503, StorageUnavailable.code, retry_after=StorageUnavailable.retry_after),
    # Anything else below the API (a modem, the network): try again later.
    ModemgateError: Answer(503, "unavailable"),
}
"""The one table from the errors below the API to HTTP; the most specific class wins."""


def answer_for(exc: ModemgateError) -> Answer:
    return next(ANSWERS[cls] for cls in type(exc).__mro__ if cls in ANSWERS)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


KANNEL_PATH = "/cgi-bin/"
"""Kannel's interface answers in Kannel's plain text, not the JSON error body."""


def kannel_answer(status: int, message: str) -> tuple[int, str]:
    """Kannel's answer for an error the table above answers with `status`."""
    if status in (401, 403):
        return kannel.AUTH_FAILED
    if status >= 500:
        return kannel.TRY_LATER
    return 400, message


def _kannel(status: int, message: str) -> Response:
    status, text = kannel_answer(status, message)
    return Response(text, status_code=status, media_type=kannel.CONTENT_TYPE)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(kannel.Refused)
    async def refused(request: Request, exc: kannel.Refused) -> Response:
        return Response(exc.text, status_code=exc.status, media_type=kannel.CONTENT_TYPE)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if request.url.path.startswith(KANNEL_PATH):
            return _kannel(exc.status, exc.message)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc.code, exc.message, **exc.extra), exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Bodies that are not JSON never get here: api.bodies.parse_json refuses them,
        # after api.deps.ApiRoute checked the key.
        fields = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
            fields.append({"field": ".".join(loc) or "body", "message": err.get("msg", "invalid")})
        first = fields[0] if fields else {"field": "body", "message": "invalid"}
        message = f"{first['field']}: {first['message']}"
        return JSONResponse(error_body("invalid_request", message, fields=fields), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(ModemgateError)
    async def domain_error(request: Request, exc: ModemgateError) -> Response:
        answer = answer_for(exc)
        if request.url.path.startswith(KANNEL_PATH):
            return _kannel(answer.status, answer.message(exc))
        headers = {"Retry-After": str(answer.retry_after)} if answer.retry_after is not None else None
        return JSONResponse(
            error_body(answer.code, answer.message(exc), **answer.details(exc)), answer.status, headers=headers
        )

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        # Anything unforeseen: the error body without the details (the server log has
        # the traceback; Starlette re-raises the exception after this answer).
        return JSONResponse(error_body("internal_error", "internal error; the server log has the details"), 500)


# --- OpenAPI ------------------------------------------------------------------------------

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable, for programs: `not_found`, `invalid_request`, …"},
                "message": {"type": "string", "description": "For people."},
                "fields": {
                    "type": "array",
                    "description": "With 422: the fields at fault.",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
            "additionalProperties": True,
        }
    },
}
"""The body of every error answer, as the OpenAPI schema shows it."""

_DESCRIPTIONS = {
    401: "Missing, unknown or revoked API key",
    403: "The API key lacks the scope this route needs (`insufficient_scope`)",
    404: "Not found",
    409: "Conflict",
    413: "Request body over the size limit",
    422: "Invalid request",
    503: "Storage (or the gateway) unavailable for now; try again after `Retry-After` seconds",
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_VALIDATION_REF = "#/components/schemas/HTTPValidationError"


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Make the generated OpenAPI schema tell the truth about errors, in place.

    Routes declare which error statuses they answer (`responses={404: {}}`); this gives
    each of them the one error body, replaces FastAPI's own 422 body (which this API never
    sends), and adds what every route shares: 401 and 403 on every /v1 route (all need a
    key, each a scope; 503 while storage fails), and wherever a body is taken 413 (BodyLimit)
    and 422 (a body that is not JSON the API takes: api.bodies.parse_json).
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if path.startswith("/v1/"):
                responses.setdefault("401", {})
                responses.setdefault("403", {})
                responses.setdefault("503", {})  # storage failing (`storage_unavailable`)
            if "requestBody" in operation:
                responses.setdefault("413", {})
                responses.setdefault("422", {})
            for status, response in responses.items():
                if not status.isdigit() or int(status) < 400:
                    continue
                content = response.get("content", {}).get("application/json", {})
                if not content or content.get("schema", {}).get("$ref") == _VALIDATION_REF:
                    response["content"] = {"application/json": {"schema": _ERROR_REF}}
                if response.get("description") in (None, "Additional Response", "Validation Error"):
                    response["description"] = _DESCRIPTIONS.get(int(status), "Error")
    if _VALIDATION_REF not in str(schema.get("paths")):
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
    return schema
