"""Modems: health, signal, counters and pacing; enable, disable, drain, change the rate."""

from __future__ import annotations

import math

from fastapi import APIRouter

from api.deps import AdminKey, ApiRoute, GatewayDep, SendKey
from api.errors import ApiError
from api.schemas import ModemOut, ModemPatch, RecoveryOut
from gateway.core.dispatcher import ModemWorker

router = APIRouter(route_class=ApiRoute, prefix="/v1/modems", tags=["modems"])


def modem_out(worker: ModemWorker, simulated: bool) -> ModemOut:
    st = worker.status
    pacing = worker.pacing()
    health = st.health
    return ModemOut(
        id=worker.modem_id,
        state=st.state,
        enabled=st.enabled,
        simulated=simulated,
        identity=dict(st.identity),
        signal={"rssi": health.rssi if health else None, "dbm": health.dbm if health else None},
        registration=health.registration if health else None,
        operator=health.operator if health else None,
        status_reports=st.status_reports,
        counters={
            "sent_parts": st.sent_parts,
            "sent_messages": st.sent_messages,
            "failed": st.failed,
            "retried": st.retried,
            "faults": st.faults,
        },
        pacing={
            # An unlimited (simulated) modem has no rate to show: null, and `unlimited`.
            "sends_per_minute": _finite(pacing.sends_per_minute),
            "effective_per_minute": _finite(pacing.effective_per_minute),
            "unlimited": math.isinf(pacing.sends_per_minute),
            "burst": pacing.burst,
            "tokens": round(pacing.tokens, 3),
            "daily_cap": pacing.daily_cap,
            "sent_today": pacing.sent_today,
            "slowed_down": pacing.slowed_down,
        },
        last_error=st.last_error,
        port=None if simulated else worker.link.url,
        recovery=_recovery(worker),
    )


def _recovery(worker: ModemWorker) -> RecoveryOut | None:
    if worker.recovery is None:
        return None
    r = worker.recovery.status
    return RecoveryOut(
        state=r.state,
        attempts=r.attempts,
        last_step=r.last_step,
        last_result=r.last_result,
        last_step_at=r.last_step_at,
        steps=dict(r.steps),
    )


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


def _worker(gateway: GatewayDep, modem_id: str) -> ModemWorker:
    worker = gateway.workers.get(modem_id)
    if worker is None:
        raise ApiError(404, "not_found", f"no modem {modem_id!r}")
    return worker


def _simulated(gateway: GatewayDep, modem_id: str) -> bool:
    return bool(gateway.simulated and modem_id in gateway.simulated.urls)


@router.get("", response_model=list[ModemOut])
async def list_modems(key: SendKey, gateway: GatewayDep) -> list[ModemOut]:
    return [modem_out(w, _simulated(gateway, w.modem_id)) for w in gateway.workers.values()]


@router.get("/{modem_id}", response_model=ModemOut, responses={404: {}})
async def get_modem(modem_id: str, key: SendKey, gateway: GatewayDep) -> ModemOut:
    return modem_out(_worker(gateway, modem_id), _simulated(gateway, modem_id))


@router.patch("/{modem_id}", response_model=ModemOut, responses={404: {}})
async def patch_modem(modem_id: str, body: ModemPatch, key: AdminKey, gateway: GatewayDep) -> ModemOut:
    """`enabled` false stops taking work at once; `drain` finishes the message in hand first."""
    worker = _worker(gateway, modem_id)
    if body.sends_per_minute is not None or body.burst is not None or body.daily_cap is not None:
        worker.pacer.configure(
            sends_per_minute=body.sends_per_minute,
            burst=body.burst,
            daily_cap=body.daily_cap,
            now=worker.clock.monotonic(),
        )
    if body.drain:
        worker.drain()
    if body.enabled is not None:
        worker.enable(body.enabled)
    return modem_out(worker, _simulated(gateway, modem_id))
