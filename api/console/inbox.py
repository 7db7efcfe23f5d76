"""Inbox: conversations by number with unread counts; one conversation, read and replied to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.web import ConsoleRoute, Viewer, check_csrf, gateway_of, render, require
from gateway.automation import conversations
from gateway.core import overview
from gateway.core.db import session
from gateway.core.errors import InvalidInput
from gateway.core.numbers import normalise_number

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/inbox")
async def inbox(request: Request, signed: Viewer) -> Response:
    gateway = gateway_of(request)

    def read() -> list[overview.Thread]:
        with session(gateway.engine) as s:
            return overview.threads(s)

    return render(request, "inbox.html", threads=await run_in_threadpool(read))


@router.get("/inbox/{number}")
async def conversation(request: Request, number: str, signed: Viewer) -> Response:
    gateway = gateway_of(request)
    e164 = normalise_number(number, gateway.settings.default_region, field="number")

    def read() -> list[dict[str, Any]]:
        with session(gateway.engine) as s:
            items = conversations.thread(s, e164)
        if signed.may("send"):  # a viewer reads without marking read for the others
            with session(gateway.engine, write=True) as s:
                conversations.mark_read(s, e164, now=gateway.clock.now())  # the API's read mark
                s.commit()
        return items

    items = await run_in_threadpool(gateway.writes.now, read)
    return render(request, "conversation.html", number=e164, items=items)


@router.post("/inbox/{number}/reply")
async def reply(
    request: Request,
    number: str,
    signed: Viewer,
    csrf: Annotated[str | None, Form(max_length=100)] = None,
    text: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "send")
    if not text.strip():
        raise InvalidInput("text", "empty: an SMS needs text")
    gateway = gateway_of(request)
    submitted = await run_in_threadpool(gateway.submit, api_key_id=None, to=number, text=text)
    return RedirectResponse(f"/inbox/{submitted.message.recipient}", status_code=303)
