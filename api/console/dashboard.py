"""Dashboard: every modem's health, pacing and today's counts, refreshed in place; and the
operator's modem controls (enable, disable, drain, rate and daily cap)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.web import ConsoleRoute, Viewer, check_csrf, gateway_of, render, require
from api.routers.modems import modem_out
from gateway.core import overview
from gateway.core.db import session
from gateway.core.errors import InvalidInput, NotFound
from gateway.core.runtime import Gateway

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def signal_bars(rssi: int | None) -> int:
    """0–4 bars from a 27.007 RSSI (0–31), the way phones draw them."""
    if rssi is None:
        return 0
    return 4 if rssi >= 20 else 3 if rssi >= 15 else 2 if rssi >= 10 else 1 if rssi >= 2 else 0


def modems_view(gateway: Gateway) -> dict[str, Any]:
    """Everything the dashboard shows, read with a fixed number of queries."""
    now = gateway.clock.now()
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    with session(gateway.engine) as s:
        counts = overview.day_counts(s, since=midnight)
        depth = overview.queue_depth(s)
        unread = overview.unread_total(s, now=now)
    modems = []
    for worker in gateway.workers.values():
        simulated = bool(gateway.simulated and worker.modem_id in gateway.simulated.urls)
        out = modem_out(worker, simulated).model_dump()
        out["bars"] = signal_bars(out["signal"]["rssi"])
        today = counts.get(worker.modem_id, overview.DayCounts())
        out["sent_today"], out["failed_today"] = today.sent, today.failed
        modems.append(out)
    return {"modems": modems, "queue_depth": depth, "unread": unread, "now": now}


@router.get("/")
async def dashboard(request: Request, signed: Viewer) -> Response:
    view = await run_in_threadpool(modems_view, gateway_of(request))
    return render(request, "dashboard.html", **view)


@router.get("/fragments/modems")
async def modems_fragment(request: Request, signed: Viewer) -> Response:
    view = await run_in_threadpool(modems_view, gateway_of(request))
    return render(request, "_modems.html", **view)


@router.post("/modems/{modem_id}")
async def change_modem(
    request: Request,
    modem_id: str,
    signed: Viewer,
    csrf: Annotated[str | None, Form(max_length=100)] = None,
    action: Annotated[str, Form(max_length=20)] = "",
    sends_per_minute: Annotated[str, Form(max_length=20)] = "",
    daily_cap: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "admin")
    gateway = gateway_of(request)
    worker = gateway.workers.get(modem_id)
    if worker is None:
        raise NotFound("modem", modem_id)
    if action == "enable":
        worker.enable(True)
    elif action == "disable":
        worker.enable(False)
    elif action == "drain":
        worker.drain()
    elif action == "pacing":
        rate = _number(sends_per_minute, "sends_per_minute", 0.1, 100_000)
        cap = _number(daily_cap, "daily_cap", 0, 10_000_000)
        worker.pacer.configure(
            sends_per_minute=rate, burst=None, daily_cap=None if cap is None else int(cap), now=worker.clock.monotonic()
        )
    else:
        raise InvalidInput("action", "one of enable, disable, drain, pacing")
    return RedirectResponse("/", status_code=303)


def _number(text: str, field: str, low: float, high: float) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(field, "a number") from None
    if not low <= value <= high:
        raise InvalidInput(field, f"between {low:g} and {high:g}")
    return value
