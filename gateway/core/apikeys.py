"""API keys: generated once, shown once, stored only as a hash.

A key looks like `mg_<prefix>_<secret>`. The prefix (8 characters) is stored in clear to
find the row; the whole key is stored as SHA-256 — keys are 192-bit random, so a fast
hash is enough (a slow password hash protects guessable secrets, not random ones).
Comparison is constant-time. Revoking a key also stops everything posted on its behalf
(its webhooks and its messages' callbacks).

A key holds scopes, which say what it may do: `send` (messages, their reports, the inbox,
its own webhooks and callbacks, reading the modems), `marketing` (contacts, lists,
segments, opt-outs, campaigns, conversions) and `admin` (operator actions: changing
modems, the simulator's controls). A key made without a scope gets `send` only; keys made
before scopes existed hold all three (migration 0007), so running integrations go on working.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar, get_args

from sqlmodel import Session

from gateway.core import webhooks
from gateway.core.errors import GatewayError, InvalidInput
from gateway.core.models import ApiKey

__all__ = [
    "Scope",
    "SCOPES",
    "DEFAULT_SCOPES",
    "InsufficientScope",
    "NewKey",
    "VerifiedKeys",
    "create",
    "generate",
    "hash_key",
    "parse_prefix",
    "matches",
    "parse_scopes",
    "scopes_of",
    "require",
    "revoke",
]

Scope = Literal["send", "marketing", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
DEFAULT_SCOPES: tuple[Scope, ...] = ("send",)

K = TypeVar("K")

_FORMAT = re.compile(r"^mg_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{32})$")


@dataclass(frozen=True)
class NewKey:
    key: str  # show once, never store
    prefix: str
    hashed: str


class InsufficientScope(GatewayError):
    """The API key lacks the scope the request needs."""

    code = "insufficient_scope"

    def __init__(self, needed: Scope, held: frozenset[str]) -> None:
        self.needed = needed
        self.held = held
        have = ", ".join(s for s in SCOPES if s in held) or "none"
        super().__init__(
            f"this API key lacks the {needed!r} scope (it has: {have}); "
            f"a key made with `modemgate apikey create NAME --scope {needed}` may do this"
        )


def create(s: Session, name: str, scopes: Iterable[str] = DEFAULT_SCOPES) -> tuple[NewKey, ApiKey]:
    """A new key named `name` holding `scopes` (caller's transaction, flushed). The key
    itself is in the NewKey, to be shown once; the row holds only its hash."""
    held = parse_scopes(scopes)
    new = generate()
    row = ApiKey(name=name, prefix=new.prefix, key_hash=new.hashed, scopes=held)
    s.add(row)
    s.flush()
    return new, row


def parse_scopes(scopes: Iterable[str]) -> str:
    """The stored form of a set of scopes (comma-separated, in SCOPES order); InvalidInput
    for an unknown one or none at all."""
    wanted = {x.strip().lower() for x in scopes}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise InvalidInput("scope", f"unknown scope {unknown[0]!r}; the scopes are {', '.join(SCOPES)}")
    if not wanted:
        raise InvalidInput("scope", f"give at least one of {', '.join(SCOPES)}")
    return ",".join(x for x in SCOPES if x in wanted)


def scopes_of(key: ApiKey) -> frozenset[str]:
    return frozenset(x for x in key.scopes.split(",") if x)


def require(key: ApiKey, scope: Scope) -> None:
    """InsufficientScope unless `key` holds `scope`."""
    held = scopes_of(key)
    if scope not in held:
        raise InsufficientScope(scope, held)


def generate() -> NewKey:
    prefix = secrets.token_hex(4)
    key = f"mg_{prefix}_{secrets.token_urlsafe(24)}"
    return NewKey(key, prefix, hash_key(key))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_prefix(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    m = _FORMAT.match(key)
    return m.group(1) if m else None


def matches(key: str, hashed: str) -> bool:
    return hmac.compare_digest(hash_key(key), hashed)


def revoke(s: Session, key: ApiKey, *, now: datetime) -> int:
    """Revoke `key` (caller's transaction): it opens the API no more, its webhooks are
    disabled and nothing waiting for it is posted. Returns the deliveries dropped.
    Revoking again changes nothing."""
    if key.revoked_at is None:
        key.revoked_at = now
        s.add(key)
    assert key.id is not None
    return webhooks.disable_for_key(s, key.id, now=now)


class VerifiedKeys(Generic[K]):
    """Keys verified in the last `ttl` seconds, so a busy client is not looked up per request.

    Entries are filed under the key's SHA-256, never the key itself. A key revoked in the
    database stops working here at the latest `ttl` later; `forget_all` drops every entry
    at once (call it after revoking in this process).
    """

    def __init__(
        self, ttl: float = 5.0, *, max_entries: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, K]] = {}

    def get(self, key: str) -> K | None:
        entry = self._entries.get(hash_key(key))
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._entries.pop(hash_key(key), None)
            return None
        return entry[1]

    def put(self, key: str, value: K) -> None:
        if len(self._entries) >= self._max:
            self._entries.clear()  # many distinct keys at once is rare; start again
        self._entries[hash_key(key)] = (self._clock() + self._ttl, value)

    def forget_all(self) -> None:
        self._entries.clear()
