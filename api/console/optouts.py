"""Opt-outs: the suppression list, adding a number by hand, importing many (each bad row's
error shown) and exporting the list as CSV."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.bodies import csv_numbers
from api.console.web import ConsoleRoute, Viewer, check_csrf, gateway_of, render, require
from api.routers.optouts import opt_outs_csv
from gateway.audience import consent
from gateway.core.db import session
from gateway.core.errors import InvalidInput
from gateway.core.runtime import Gateway

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PAGE = 100


def _page(gateway: Gateway, cursor: str | None) -> dict[str, Any]:
    with session(gateway.engine) as s:
        page = consent.opt_outs_page(s, cursor=cursor, limit=PAGE)
    return {"optouts": page.items, "next_cursor": page.next_cursor}


@router.get("/optouts")
async def optouts(
    request: Request, signed: Viewer, cursor: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    view = await run_in_threadpool(_page, gateway_of(request), cursor)
    return render(request, "optouts.html", added=None, result=None, **view)


@router.post("/optouts")
async def add_or_import(
    request: Request,
    signed: Viewer,
    csrf: Annotated[str | None, Form(max_length=100)] = None,
    number: Annotated[str, Form(max_length=32)] = "",
    csv_text: Annotated[str, Form(max_length=2_000_000)] = "",
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    gateway = gateway_of(request)
    region, now = gateway.settings.default_region, gateway.clock.now()
    if number.strip():
        fn: Any = lambda s: consent.add_opt_out(s, number, region=region, now=now, source="console")  # noqa: E731
    elif csv_text.strip():
        numbers = csv_numbers(csv_text)
        fn = lambda s: consent.import_opt_outs(s, numbers, region=region, now=now)  # noqa: E731
    else:
        raise InvalidInput("number", "give a number, or paste numbers to import")

    def work() -> Any:
        with session(gateway.engine, write=True) as s:
            result = fn(s)
            s.commit()
            return result

    result = await run_in_threadpool(gateway.writes.now, work)
    view = await run_in_threadpool(_page, gateway, None)
    if number.strip():
        return render(request, "optouts.html", added=result[0], result=None, **view)
    return render(request, "optouts.html", added=None, result=result, **view)


@router.get("/optouts/export")
async def export(request: Request, signed: Viewer) -> Response:
    require(signed, "marketing")
    gateway = gateway_of(request)

    def read() -> str:
        with session(gateway.engine) as s:
            return opt_outs_csv(consent.all_opt_outs(s))

    return Response(
        await run_in_threadpool(read),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="opt-outs.csv"'},
    )
