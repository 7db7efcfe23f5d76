"""API keys: generated once, shown once, stored only as a hash.

A key looks like `mg_<prefix>_<secret>`. The prefix (8 characters) is stored in clear to
find the row; the whole key is stored as SHA-256 — keys are 192-bit random, so a fast
hash is enough (a slow password hash protects guessable secrets, not random ones).
Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

__all__ = ["NewKey", "generate", "hash_key", "parse_prefix", "matches"]

_FORMAT = re.compile(r"^mg_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{32})$")


@dataclass(frozen=True)
class NewKey:
    key: str  # show once, never store
    prefix: str
    hashed: str


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
