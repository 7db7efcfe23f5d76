"""Console accounts: people who sign in to the web console, with a role each.

Passwords are hashed with scrypt (memory-hard, in the standard library): n=2**14, r=8,
p=1 takes 16 MiB and tens of milliseconds per try, which makes guessing offline costly.
The stored form names its parameters (`scrypt$n$r$p$salt$hash`), so they can be raised
later without breaking older hashes.

Roles map to the API key scopes (gateway.core.apikeys): a viewer reads every page and may
change nothing, a marketer holds `send` and `marketing`, an admin holds every scope.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime
from typing import get_args

from sqlmodel import Session, col, select

from gateway.core.apikeys import SCOPES, InsufficientScope, Scope
from gateway.core.errors import InvalidInput, NotFound
from gateway.core.models import ROLES, ConsoleUser, Role

__all__ = [
    "ROLE_SCOPES",
    "MIN_PASSWORD",
    "create_user",
    "find_user",
    "get_user",
    "all_users",
    "hash_password",
    "verify_password",
    "check_password",
    "role_scopes",
    "require_role_scope",
    "parse_role",
]

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    "viewer": frozenset(),
    "marketer": frozenset({"send", "marketing"}),
    "admin": frozenset(SCOPES),
}
MIN_PASSWORD = 10

_N, _R, _P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024
# Compared against when the user does not exist, so timing does not tell which names do.
_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + base64.b64encode(b"\0" * 32).decode()


def parse_role(role: str) -> Role:
    if role not in get_args(Role):
        raise InvalidInput("role", f"unknown role {role!r}; the roles are {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"at least {MIN_PASSWORD} characters")


def create_user(s: Session, name: str, password: str, role: str, *, now: datetime) -> ConsoleUser:
    """A new account (caller's transaction, flushed); InvalidInput for a taken name, an
    unknown role or a short password."""
    name = name.strip()
    if not name or len(name) > 64 or not name.isprintable():
        raise InvalidInput("name", "1 to 64 printable characters")
    checked = parse_role(role)
    check_password(password)
    if find_user(s, name) is not None:
        raise InvalidInput("name", f"a user named {name!r} exists")
    row = ConsoleUser(name=name, password_hash=hash_password(password), role=checked, created_at=now)
    s.add(row)
    s.flush()
    return row


def find_user(s: Session, name: str) -> ConsoleUser | None:
    return s.exec(select(ConsoleUser).where(ConsoleUser.name == name)).first()


def get_user(s: Session, user_id: int) -> ConsoleUser:
    row = s.get(ConsoleUser, user_id)
    if row is None:
        raise NotFound("user", str(user_id))
    return row


def all_users(s: Session) -> list[ConsoleUser]:
    return list(s.exec(select(ConsoleUser).order_by(col(ConsoleUser.id))))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches `stored`; with None (no such user) a dummy hash is
    checked, so the answer takes as long either way."""
    try:
        kind, n, r, p, salt, digest = (stored or _DUMMY).split("$")
        assert kind == "scrypt"
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAXMEM,
            dklen=len(base64.b64decode(digest)),
        )
    except (ValueError, AssertionError):
        return False
    return stored is not None and hmac.compare_digest(got, base64.b64decode(digest))


def role_scopes(role: str) -> frozenset[Scope]:
    return ROLE_SCOPES.get(role, frozenset())  # type: ignore[call-overload]


def require_role_scope(user: ConsoleUser, scope: Scope) -> None:
    """InsufficientScope unless the user's role holds `scope` (the same error an API key gets)."""
    held = role_scopes(user.role)
    if scope not in held:
        raise InsufficientScope(scope, frozenset(held))
