"""Console sign-in: server-side sessions and the slowing of repeated wrong passwords.

A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256,
the CSRF token every form of the session must carry, and when it ends. Logging out
revokes it; it also ends `SESSION_LIFETIME` after it began.

`LoginThrottle` is pure (clock injected): after `FREE_FAILURES` wrong passwords in a row
for one user name from one address, each further attempt waits longer before it is
answered (1 s, 2 s, 4 s … up to `MAX_DELAY`). A right password clears the count.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from gateway.core.models import ConsoleSession, ConsoleUser

__all__ = [
    "SESSION_LIFETIME",
    "FREE_FAILURES",
    "MAX_DELAY",
    "NewSession",
    "start_session",
    "session_of",
    "end_session",
    "LoginThrottle",
]

SESSION_LIFETIME = timedelta(hours=12)
FREE_FAILURES = 4
MAX_DELAY = 30.0


@dataclass(frozen=True)
class NewSession:
    token: str  # for the cookie; never stored
    row: ConsoleSession


def start_session(s: Session, user: ConsoleUser, *, now: datetime) -> NewSession:
    """A new session for `user` (caller's transaction)."""
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        token_hash=_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    s.add(row)
    s.flush()
    return NewSession(token, row)


def session_of(s: Session, token: str, *, now: datetime) -> tuple[ConsoleSession, ConsoleUser] | None:
    """The live session of a cookie's token and its user; None when unknown, ended, expired
    or the user is disabled."""
    if not token or len(token) > 100:
        return None
    row = s.get(ConsoleSession, _hash(token))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = s.get(ConsoleUser, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    return row, user


def end_session(s: Session, token: str, *, now: datetime) -> None:
    row = s.get(ConsoleSession, _hash(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        s.add(row)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class LoginThrottle:
    """Wrong passwords per (user name, client address), in memory."""

    def __init__(self, clock: Callable[[], float], *, max_entries: int = 10_000) -> None:
        self._clock = clock
        self._max = max_entries
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}

    def attempt(self, name: str, address: str) -> float:
        """Count an attempt (as wrong until `succeeded` says otherwise, so attempts sent in
        parallel are slowed too) and return the seconds to wait before answering it: 0 for
        the first FREE_FAILURES."""
        if len(self._failures) >= self._max:
            self._forget_old()
        key = (name.lower(), address)
        count, _ = self._failures.get(key, (0, 0.0))
        self._failures[key] = (count + 1, self._clock())
        return 0.0 if count < FREE_FAILURES else min(MAX_DELAY, 2.0 ** (count - FREE_FAILURES))

    def succeeded(self, name: str, address: str) -> None:
        self._failures.pop((name.lower(), address), None)

    def _forget_old(self) -> None:
        # Keep the table bounded: counts untouched for an hour go first, else all.
        cutoff = self._clock() - 3600
        self._failures = {k: v for k, v in self._failures.items() if v[1] > cutoff}
        if len(self._failures) >= self._max:
            self._failures.clear()
