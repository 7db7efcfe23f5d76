"""Liveness, readiness and Prometheus metrics (no API key: for probes and scrapers)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ApiRoute, GatewayDep
from api.errors import error_body
from gateway.core.db import check_storage
from gateway.core.errors import StorageUnavailable

router = APIRouter(route_class=ApiRoute, tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {}})
def readyz(gateway: GatewayDep) -> JSONResponse:
    """Ready when the database answers (and, after a storage failure, takes writes again)
    and at least one modem is ready to send; else 503 with the error body (code
    `not_ready`) naming the problems."""
    problems = []
    try:
        check_storage(gateway.engine)
    except StorageUnavailable as exc:
        problems.append(f"storage: {exc.reason}")
    except Exception as exc:  # any failure here means "not ready", with its reason
        problems.append(f"database: {type(exc).__name__}")
    ready = [w.modem_id for w in gateway.workers.values() if w.status.state in ("ready", "capped")]
    if not ready:
        problems.append("no modem is ready")
    if problems:
        # Not ready is an error like any other: the error body, with the details beside.
        return JSONResponse(
            error_body("not_ready", "; ".join(problems), modems_ready=ready, problems=problems), status_code=503
        )
    return JSONResponse({"status": "ready", "modems_ready": ready, "problems": []})


@router.get("/metrics")
def metrics(gateway: GatewayDep) -> Response:
    return Response(generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST)
