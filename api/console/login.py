"""Signing in and out.

The login form carries a CSRF token too (a double-submit cookie, as there is no session
yet). Wrong passwords are slowed per user name and client address (gateway.core.signin).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.web import COOKIE, ConsoleRoute, Viewer, check_csrf, gateway_of, render, safe_next, secure_cookies
from gateway.core import accounts, signin
from gateway.core.db import session

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

_LOGIN_CSRF = "mg_login_csrf"


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    token = request.cookies.get(_LOGIN_CSRF) or secrets.token_urlsafe(24)
    response = render(request, "login.html", next=safe_next(next), csrf=token, error=None)
    response.set_cookie(
        _LOGIN_CSRF, token, httponly=True, samesite="strict", secure=secure_cookies(request), max_age=3600
    )
    return response


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str | None, Form(max_length=100)] = None,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    cookie = request.cookies.get(_LOGIN_CSRF, "")
    target = safe_next(next)
    if not csrf or not cookie or not hmac.compare_digest(csrf.encode(), cookie.encode()):
        return render(request, "login.html", 403, next=target, csrf=cookie, error="The form expired: try again.")
    gateway = gateway_of(request)
    state = request.app.state.console
    address = request.client.host if request.client else "?"
    delay = state.throttle.attempt(username, address)
    if delay:
        await state.sleep(delay)

    def check() -> int | None:
        with session(gateway.engine) as s:
            user = accounts.find_user(s, username)
            ok = accounts.verify_password(password, user.password_hash if user else None)
            return user.id if user is not None and ok and user.disabled_at is None else None

    def start(user_id: int) -> signin.NewSession:
        with session(gateway.engine, write=True) as s:
            new = signin.start_session(s, accounts.get_user(s, user_id), now=gateway.clock.now())
            s.commit()
            return new

    user_id = await run_in_threadpool(check)  # the slow hash runs outside the write turn
    new = await gateway.writes(start, user_id) if user_id is not None else None
    if new is None:
        return render(
            request,
            "login.html",
            401,
            next=target,
            csrf=cookie,
            error="Wrong user name or password.",
            username=username,
        )
    state.throttle.succeeded(username, address)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        new.token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        max_age=int(signin.SESSION_LIFETIME.total_seconds()),
    )
    response.delete_cookie(_LOGIN_CSRF, httponly=True, samesite="strict", secure=secure_cookies(request))
    return response


@router.post("/logout")
async def logout(
    request: Request, signed: Viewer, csrf: Annotated[str | None, Form(max_length=100)] = None
) -> Response:
    check_csrf(signed, csrf)
    gateway = gateway_of(request)
    token = request.cookies.get(COOKIE, "")

    def end() -> None:
        with session(gateway.engine, write=True) as s:
            signin.end_session(s, token, now=gateway.clock.now())
            s.commit()

    await gateway.writes(end)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="lax", secure=secure_cookies(request))
    return response
