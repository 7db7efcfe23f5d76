"""What every console page shares: templates, the signed-in user, roles, CSRF, and the one
place where errors from below become an HTML page.

Pages are server-rendered. A request without a live session is sent to `/login` (GET) or
refused (POST). Every POST carries the session's CSRF token in a `csrf` field, checked
before the form is acted on; a role lacking the scope a form needs gets 403 from the same
check as an API key (`InsufficientScope`), rendered through the API's error table.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from api.errors import answer_for
from drivers import ModemgateError
from gateway.core import accounts, signin
from gateway.core.apikeys import Scope
from gateway.core.db import session
from gateway.core.models import ConsoleSession, ConsoleUser
from gateway.core.runtime import Gateway

__all__ = [
    "COOKIE",
    "ConsoleRoute",
    "Viewer",
    "Signed",
    "render",
    "require",
    "check_csrf",
    "safe_next",
    "secure_cookies",
    "gateway_of",
    "SignInRequired",
    "CsrfRefused",
]

HERE = Path(__file__).parent
COOKIE = "mg_session"
templates = Jinja2Templates(directory=str(HERE / "templates"))


class SignInRequired(Exception):
    """No live session: GET pages go to the login form."""


class CsrfRefused(Exception):
    """A POST without the session's CSRF token."""


@dataclass(frozen=True)
class Signed:
    """The signed-in user of a request and the session's CSRF token."""

    user: ConsoleUser
    session: ConsoleSession

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    def may(self, scope: Scope) -> bool:
        return scope in accounts.role_scopes(self.user.role)


def gateway_of(request: Request) -> Gateway:
    return request.app.state.gateway


async def signed_in(request: Request) -> Signed:
    token = request.cookies.get(COOKIE, "")
    gateway = gateway_of(request)

    def look_up() -> tuple[ConsoleSession, ConsoleUser] | None:
        with session(gateway.engine) as s:
            return signin.session_of(s, token, now=gateway.clock.now())

    found = await run_in_threadpool(look_up) if token else None
    if found is None:
        raise SignInRequired()
    signed = Signed(found[1], found[0])
    request.state.signed = signed
    return signed


Viewer = Annotated[Signed, Depends(signed_in)]


def require(signed: Signed, scope: Scope) -> None:
    accounts.require_role_scope(signed.user, scope)


def check_csrf(signed: Signed, given: str | None) -> None:
    if not given or not hmac.compare_digest(given.encode(), signed.csrf.encode()):
        raise CsrfRefused()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    signed = getattr(request.state, "signed", None)
    return templates.TemplateResponse(
        request, template, {"signed": signed, "path": request.url.path, **context}, status_code=status_code
    )


def safe_next(value: str | None) -> str:
    """A local path to go to after login; anything else (another host, `//host`, a scheme,
    a backslash trick) becomes `/`."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def secure_cookies(request: Request) -> bool:
    """Secure cookies over HTTPS, and behind a reverse proxy whose https `public_url` names
    the host the request came for."""
    if request.url.scheme == "https":
        return True
    public = urlsplit(gateway_of(request).settings.public_url)
    return public.scheme == "https" and public.hostname == request.url.hostname


def now_utc(request: Request) -> datetime:
    return gateway_of(request).clock.now().astimezone(UTC)


class ConsoleRoute(APIRoute):
    """Console routes: no session → login; errors from below → an HTML page with the
    status and message the API's error table gives them."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def html_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                if request.method == "GET":
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
                return render(request, "error.html", 403, title="Signed out", message="Sign in again.")
            except CsrfRefused:
                return render(
                    request,
                    "error.html",
                    403,
                    title="Form refused",
                    message="The form was not sent from this console (its security token is missing or old). "
                    "Reload the page and try again.",
                )
            except ModemgateError as exc:
                answer = answer_for(exc)
                return render(request, "error.html", answer.status, title="Not done", message=answer.message(exc))

        return html_errors
