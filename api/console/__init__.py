"""The operator console: server-rendered pages at `/`, served by the API's app.

One router module and one template per page (`dashboard`, `modems`, `messages`, `inbox`, `contacts`, `lists`,
`optouts`, `campaigns`, `settings`, `login`); each calls the same functions below the API as the REST
routers, never the API over HTTP. Static files (`static/`: one stylesheet, one small
script of our own) are served from `/static`; nothing is fetched from elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.console import (
    campaigns,
    contacts,
    dashboard,
    inbox,
    lists,
    login,
    messages,
    modems,
    optouts,
    settings,
)
from api.console.web import HERE
from gateway.core.signin import LoginThrottle

__all__ = ["ConsoleState", "install_console"]


@dataclass
class ConsoleState:
    throttle: LoginThrottle
    sleep: Callable[[float], Awaitable[None]]


def install_console(app: FastAPI, *, sleep: Callable[[float], Awaitable[None]]) -> None:
    """Add the console's pages and static files to `app`; `sleep` slows wrong passwords."""
    app.state.console = ConsoleState(LoginThrottle(time.monotonic), sleep)
    for module in (login, dashboard, modems, messages, inbox, contacts, lists, optouts, campaigns, settings):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
