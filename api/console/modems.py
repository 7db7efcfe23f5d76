"""One modem's page: its state and identity, the latest AT errors its worker met (kept in
memory by the dispatcher), and, for admins, a re-probe that closes the port and opens and
initialises the modem again through its running worker."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.console.dashboard import signal_bars
from api.console.web import ConsoleRoute, Viewer, check_csrf, gateway_of, render, require
from api.routers.modems import modem_out
from gateway.core.dispatcher import ModemWorker
from gateway.core.errors import NotFound
from gateway.core.runtime import Gateway

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _worker(gateway: Gateway, modem_id: str) -> ModemWorker:
    worker = gateway.workers.get(modem_id)
    if worker is None:
        raise NotFound("modem", modem_id)
    return worker


@router.get("/modems/{modem_id}")
async def modem_page(request: Request, modem_id: str, signed: Viewer, reprobed: bool = False) -> Response:
    gateway = gateway_of(request)
    worker = _worker(gateway, modem_id)
    simulated = bool(gateway.simulated and modem_id in gateway.simulated.urls)
    out = modem_out(worker, simulated).model_dump()
    out["bars"] = signal_bars(out["signal"]["rssi"])
    errors = list(reversed(worker.status.at_errors))  # newest first
    return render(request, "modem.html", m=out, errors=errors, reprobed=reprobed, reconnects=worker.link.reconnects)


@router.post("/modems/{modem_id}/reprobe")
async def reprobe(
    request: Request, modem_id: str, signed: Viewer, csrf: Annotated[str | None, Form(max_length=100)] = None
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "admin")
    _worker(gateway_of(request), modem_id).reprobe()
    return RedirectResponse(f"/modems/{modem_id}?reprobed=1", status_code=303)
