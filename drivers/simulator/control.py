"""HTTP control API of a running simulator: inject inbound SMS, set faults, read the network.

    GET    /modems                        ids, numbers, ports, faults, storage use
    POST   /inbound       {modem, sender, text, encoding?}   -> {"parts": n}
    POST   /inbound/pdu   {modem, pdu}                       a ready SMS-DELIVER
    POST   /faults        {modem, <fault>: value, ...}       see faults.Faults
    DELETE /faults/{modem}                                   clear all faults
    GET    /network                       parts received, messages joined, reports sent
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from drivers._exceptions import ConfigError, PduError
from drivers.simulator.server import Simulator

__all__ = ["create_control_app"]


class InboundRequest(BaseModel):
    modem: str
    sender: str = Field(min_length=1, max_length=20)
    text: str = Field(max_length=40_000)
    encoding: str = "auto"


class InboundPduRequest(BaseModel):
    modem: str
    pdu: str = Field(min_length=2, max_length=400)


def create_control_app(sim: Simulator) -> FastAPI:
    app = FastAPI(title="modemgate simulator control")

    def modem_or_404(modem_id: str) -> None:
        if modem_id not in sim.modems:
            raise HTTPException(404, f"no simulated modem {modem_id!r}")

    @app.get("/modems")
    def modems() -> list[dict[str, Any]]:
        return sim.status()

    @app.post("/inbound")
    def inbound(req: InboundRequest) -> dict[str, int]:
        modem_or_404(req.modem)
        try:
            return {"parts": sim.inbound(req.modem, req.sender, req.text, req.encoding)}
        except PduError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.post("/inbound/pdu")
    def inbound_pdu(req: InboundPduRequest) -> dict[str, bool]:
        modem_or_404(req.modem)
        sim.network.inbound_pdu(req.modem, req.pdu)
        return {"accepted": True}

    @app.post("/faults")
    def faults(body: dict[str, Any]) -> dict[str, Any]:
        modem_id = str(body.pop("modem", ""))
        modem_or_404(modem_id)
        try:
            sim.set_faults(modem_id, **body)
        except ConfigError as exc:
            raise HTTPException(422, str(exc)) from None
        return sim.modem(modem_id).faults.as_dict()

    @app.delete("/faults/{modem_id}")
    def clear(modem_id: str) -> dict[str, Any]:
        modem_or_404(modem_id)
        sim.clear_faults(modem_id)
        return sim.modem(modem_id).faults.as_dict()

    @app.get("/network")
    def network() -> dict[str, Any]:
        net = sim.network
        return {
            "received": [r.to_dict() for r in net.received],
            "messages": net.messages(),
            "reports": list(net.reports_sent),
        }

    return app
