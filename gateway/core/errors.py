"""Errors the gateway raises on purpose, below the API.

    ModemgateError                (drivers._exceptions: the whole tree)
    └── GatewayError
        ├── InvalidInput          a value the gateway cannot take (has .field); also ValueError
        ├── IdempotencyConflict   an idempotency key reused with a different request
        ├── NotFound              no such message / part / key
        ├── StorageUnavailable    the database cannot take writes now (disk full, read-only,
        │                         locked too long, connection lost): try again later
        ├── AlreadyExists         (gateway.audience.contacts) a number or name taken
        └── WrongState            (gateway.campaigns.lifecycle) not allowed in the campaign's state

Each has a stable `code` the API puts in its error body; the API's one table
(`api.errors`) gives each its HTTP status. Unencodable text stays `drivers.PduError`: the
codec is the authority on what fits in an SMS.
"""

from __future__ import annotations

from drivers import ModemgateError

__all__ = ["GatewayError", "InvalidInput", "IdempotencyConflict", "NotFound", "StorageUnavailable"]


class GatewayError(ModemgateError):
    """Base of the gateway's own errors."""

    code = "gateway_error"


class InvalidInput(GatewayError, ValueError):
    """`field` holds a value the gateway cannot accept (e.g. a recipient not in E.164)."""

    code = "invalid_request"

    def __init__(self, field: str, message: str, *, summary: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")
        # What a list of faulty fields says of this one; the whole message unless shorter is told.
        self.summary = summary if summary is not None else str(self)


class IdempotencyConflict(GatewayError):
    """The idempotency key was already used by this API key for a different request."""

    code = "idempotency_conflict"

    def __init__(self, idempotency_key: str, message_id: str) -> None:
        self.idempotency_key = idempotency_key
        self.message_id = message_id
        super().__init__(
            f"idempotency key {idempotency_key!r} was already used for message {message_id} with a different request"
        )


class NotFound(GatewayError):
    """No row with this id."""

    code = "not_found"

    def __init__(self, kind: str, ident: object, *, message: str | None = None) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(message or f"{kind} {ident} not found")


class StorageUnavailable(GatewayError):
    """The database failed for a reason of its own, not of the request: a full disk, a
    read-only file, a lock held past the busy timeout, a lost connection. Raised by
    `gateway.core.db` in place of the driver's error (which stays its `__cause__`); it
    passes, and what failed can be tried again later."""

    code = "storage_unavailable"
    retry_after = 5  # seconds a client is told to wait before trying again

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"storage unavailable: {reason}")
