"""Control of the in-process simulated modems (only when `sim://` modems run)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import AdminKey, ApiRoute, GatewayDep
from api.errors import ApiError
from api.schemas import SimInbound

router = APIRouter(route_class=ApiRoute, prefix="/v1/simulator", tags=["simulator"])


def _sim_id(gateway: GatewayDep, modem: str) -> str:
    if gateway.simulated is None:
        raise ApiError(404, "not_found", "no simulated modems run in this gateway")
    sim_id = gateway.simulated.sim_ids.get(modem)
    if sim_id is None:
        raise ApiError(404, "not_found", f"no simulated modem {modem!r}; have {', '.join(gateway.simulated.sim_ids)}")
    return sim_id


@router.post("/inbound", status_code=202, responses={404: {}, 422: {}})
def inject_inbound(body: SimInbound, key: AdminKey, gateway: GatewayDep) -> dict[str, int]:
    """Have the simulated network deliver an SMS from `from` to `modem`."""
    sim_id = _sim_id(gateway, body.modem)
    assert gateway.simulated is not None
    parts = gateway.call_in_loop(gateway.simulated.simulator.inbound, sim_id, body.sender, body.text, body.encoding)
    return {"parts": parts}


@router.get("/network", responses={404: {}})
def network(key: AdminKey, gateway: GatewayDep) -> dict[str, Any]:
    """What the simulated network received from the modems, parts and joined messages."""
    if gateway.simulated is None:
        raise ApiError(404, "not_found", "no simulated modems run in this gateway")
    net = gateway.simulated.simulator.network
    names = {v: k for k, v in gateway.simulated.sim_ids.items()}

    def view() -> dict[str, Any]:
        received = [dict(r.to_dict(), modem=names.get(r.modem, r.modem)) for r in net.received]
        messages = [dict(m, modem=names.get(m["modem"], m["modem"])) for m in net.messages()]
        return {"received": received, "messages": messages, "reports": list(net.reports_sent)}

    return gateway.call_in_loop(view)


@router.post("/faults", responses={404: {}, 422: {}})
def set_faults(body: dict[str, Any], key: AdminKey, gateway: GatewayDep) -> dict[str, Any]:
    """Make a simulated modem misbehave: `{"modem": "sim1", "cms_error": 500, ...}`; `{"modem": …, "clear": true}` clears."""
    modem = str(body.pop("modem", ""))
    sim_id = _sim_id(gateway, modem)
    assert gateway.simulated is not None
    sim = gateway.simulated.simulator
    if body.pop("clear", False):
        gateway.call_in_loop(sim.clear_faults, sim_id)
    if body:
        gateway.call_in_loop(lambda: sim.set_faults(sim_id, **body))
    return gateway.call_in_loop(lambda: sim.modem(sim_id).faults.as_dict())
