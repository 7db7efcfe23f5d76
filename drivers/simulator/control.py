"""HTTP control API of a running simulator: inject inbound SMS, set faults, read the network.

GET    /modems                        ids, numbers, ports, faults, storage use, maker, noise sent
POST   /inbound       {modem, sender, text, encoding?}   -> {"parts": n}
POST   /inbound/pdu   {modem, pdu}                       a ready SMS-DELIVER
POST   /faults        {modem, <fault>: value, ...}       see faults.Faults
DELETE /faults/{modem}                                   clear all faults
GET    /network                       parts received, messages joined, reports sent
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from drivers._exceptions import ConfigError, PduError
from drivers.simulator.server import Simulator

__all__ = ["create_control_app"]

T = TypeVar("T")


class InboundRequest(BaseModel):
    modem: str
    sender: str = Field(min_length=1, max_length=20)
    text: str = Field(max_length=40_000)
    encoding: str = "auto"


class InboundPduRequest(BaseModel):
    modem: str
    pdu: str = Field(min_length=2, max_length=400, pattern=r"^([0-9A-Fa-f]{2})+$")


def create_control_app(sim: Simulator) -> FastAPI:
    """The control API of `sim`. Every handler runs its work in the simulator's own event
    loop: directly when the app is served from that loop (`modemgate simulate`), handed
    over thread-safely when it is served from another (a test client, another thread)."""
    app = FastAPI(title="modemgate simulator control")

    async def in_sim(fn: Callable[[], T]) -> T:
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - handlers always run in a loop
            here = None
        if here is sim.loop:
            return fn()
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:  # re-raised in the handler's loop
                done.set_exception(exc)

        sim.loop.call_soon_threadsafe(run)
        return await asyncio.wrap_future(done)

    def modem_or_404(modem_id: str) -> None:
        if modem_id not in sim.modems:
            raise HTTPException(404, f"no simulated modem {modem_id!r}")

    @app.get("/modems")
    async def modems() -> list[dict[str, Any]]:
        return await in_sim(sim.status)

    @app.post("/inbound")
    async def inbound(req: InboundRequest) -> dict[str, int]:
        modem_or_404(req.modem)
        try:
            parts = await in_sim(lambda: sim.inbound(req.modem, req.sender, req.text, req.encoding))
        except PduError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"parts": parts}

    @app.post("/inbound/pdu")
    async def inbound_pdu(req: InboundPduRequest) -> dict[str, bool]:
        modem_or_404(req.modem)
        await in_sim(lambda: sim.network.inbound_pdu(req.modem, req.pdu))
        return {"accepted": True}

    @app.post("/faults")
    async def faults(body: dict[str, Any]) -> dict[str, Any]:
        modem_id = str(body.pop("modem", ""))
        modem_or_404(modem_id)

        def apply() -> dict[str, Any]:
            sim.set_faults(modem_id, **body)
            return sim.modem(modem_id).faults.as_dict()

        try:
            return await in_sim(apply)
        except ConfigError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.delete("/faults/{modem_id}")
    async def clear(modem_id: str) -> dict[str, Any]:
        modem_or_404(modem_id)

        def apply() -> dict[str, Any]:
            sim.clear_faults(modem_id)
            return sim.modem(modem_id).faults.as_dict()

        return await in_sim(apply)

    @app.get("/network")
    async def network() -> dict[str, Any]:
        def read() -> dict[str, Any]:
            net = sim.network
            return {
                "received": [r.to_dict() for r in net.received],
                "messages": net.messages(),
                "reports": list(net.reports_sent),
            }

        return await in_sim(read)

    return app
