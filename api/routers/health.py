"""Liveness, readiness and Prometheus metrics (no API key: for probes and scrapers)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import GatewayDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(gateway: GatewayDep) -> JSONResponse:
    """Ready when the database answers and at least one modem is ready to send."""
    problems = []
    try:
        with gateway.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure here means "not ready", with its reason
        problems.append(f"database: {type(exc).__name__}")
    ready = [w.modem_id for w in gateway.workers.values() if w.status.state in ("ready", "capped")]
    if not ready:
        problems.append("no modem is ready")
    body = {"status": "ready" if not problems else "not ready", "modems_ready": ready, "problems": problems}
    return JSONResponse(body, status_code=200 if not problems else 503)


@router.get("/metrics")
def metrics(gateway: GatewayDep) -> Response:
    return Response(generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST)
