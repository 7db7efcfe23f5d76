"""Webhook signatures: HMAC-SHA256 over the timestamp and the raw body.

Every webhook request carries

    Modemgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

A receiver recomputes the HMAC over the exact bytes it received, compares in constant
time, and rejects timestamps too far from its clock (replays). Several `v1=` values may
appear while a secret is being rotated; any one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "sign", "verify"]

SIGNATURE_HEADER = "Modemgate-Signature"
DEFAULT_TOLERANCE = 300  # seconds


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Modemgate-Signature` header value for `body` sent at `timestamp`."""
    return f"t={timestamp},v1={_mac(secret, body, timestamp)}"


def verify(secret: str, body: bytes, header: str, *, now: int, tolerance: int = DEFAULT_TOLERANCE) -> bool:
    """True when `header` is a valid signature of `body` made within `tolerance` of `now`."""
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance:
        return False
    expected = _mac(secret, body, timestamp)
    return any(hmac.compare_digest(expected, c) for c in candidates)


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
