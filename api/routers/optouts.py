"""Opt-outs: the suppression list. Nothing is sent to a number on it, of any category."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.audience_schemas import OptOutImportIn, OptOutImportOut, OptOutIn, OptOutOut, OptOutRemovalIn, RowErrorOut
from api.bodies import csv_numbers, hand_read_body, invalid_body, parse_json, read_body
from api.deps import ApiRoute, Cursor, GatewayDep, Limit, MarketingKey, run_write
from api.schemas import Page, PhoneNumber
from gateway.audience import consent
from gateway.core.db import session
from gateway.core.models import Suppression

router = APIRouter(route_class=ApiRoute, prefix="/v1/opt-outs", tags=["opt-outs"])

_IMPORT_BODY = hand_read_body(OptOutImportIn, csv_example="number\n+31612345678\n")


def opt_out_out(row: Suppression) -> OptOutOut:
    return OptOutOut(
        number=row.number,
        number_hash=row.number_hash,
        reason=row.reason,  # type: ignore[arg-type]
        source_message_id=row.source_message_id,
        created_at=row.created_at,
    )


@router.get("", response_model=Page, responses={422: {}})
def list_opt_outs(
    key: MarketingKey,
    gateway: GatewayDep,
    reason: Literal["stop", "manual", "import", "erased"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page:
    """Newest first. Erased contacts show only the hash of their number."""
    with session(gateway.engine) as s:
        page = consent.opt_outs_page(s, cursor=cursor, limit=limit, reason=reason)
    return Page(items=[opt_out_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("", status_code=201, response_model=OptOutOut, responses={200: {"model": OptOutOut}, 422: {}})
def add_opt_out(body: OptOutIn, key: MarketingKey, gateway: GatewayDep, response: Response) -> OptOutOut:
    """Opt a number out (201; 200 with the existing entry if it already was). Sends the
    `optout` webhook event."""
    row, created = run_write(
        gateway, consent.add_opt_out, body.number, region=gateway.settings.default_region, now=gateway.clock.now()
    )
    if not created:
        response.status_code = 200
    return opt_out_out(row)


@router.delete("/{number}", status_code=204, responses={404: {}, 422: {}})
def remove_opt_out(
    number: Annotated[PhoneNumber, Path(min_length=3, max_length=32)],
    key: MarketingKey,
    gateway: GatewayDep,
    body: Annotated[OptOutRemovalIn | None, Body()] = None,
) -> None:
    """Take a number off the list (also an erased one). One that came from a STOP needs a
    body: the `reason` and new proof of consent (`source`, `proof`, optional `ip`), which
    the consent ledger keeps as an opt-in beside the STOP (422 without them). Without a
    body, marketing to the number still needs a new opt-in."""
    _remove(gateway, number, body)


@router.post("/{number}/remove", status_code=204, responses={404: {}, 422: {}})
def remove_opt_out_with_consent(
    number: Annotated[PhoneNumber, Path(min_length=3, max_length=32)],
    body: OptOutRemovalIn,
    key: MarketingKey,
    gateway: GatewayDep,
) -> None:
    """As `DELETE /v1/opt-outs/{number}` with its body, for clients that send no body with DELETE."""
    _remove(gateway, number, body)


def _remove(gateway: GatewayDep, number: str, body: OptOutRemovalIn | None) -> None:
    removal = (
        consent.OptOutRemoval(body.reason, body.source, body.proof, str(body.ip) if body.ip else None) if body else None
    )
    run_write(
        gateway,
        consent.remove_opt_out,
        number,
        region=gateway.settings.default_region,
        now=gateway.clock.now(),
        removal=removal,
    )


@router.post("/import", response_model=OptOutImportOut, responses={415: {}, 422: {}}, openapi_extra=_IMPORT_BODY)
async def import_opt_outs(request: Request, key: MarketingKey, gateway: GatewayDep) -> OptOutImportOut:
    """Opt out many numbers: JSON `{"numbers": [...]}`, or CSV with a `number` column (or one
    number per line, no header). Bad rows are listed in `errors`; the others are added."""
    kind, text = await read_body(request)
    if kind == "json":
        try:
            numbers = OptOutImportIn.model_validate(parse_json(text)).numbers
        except ValidationError as exc:
            raise invalid_body(exc) from None
    else:
        numbers = csv_numbers(text)
    result = await run_in_threadpool(
        run_write,
        gateway,
        consent.import_opt_outs,
        numbers,
        region=gateway.settings.default_region,
        now=gateway.clock.now(),
    )
    return OptOutImportOut(
        added=result.added,
        existing=result.existing,
        errors=[RowErrorOut(row=e.row, number=e.number, field=e.field, message=e.message) for e in result.errors],
    )


@router.get(
    "/export", response_class=Response, responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}
)
def export_opt_outs(key: MarketingKey, gateway: GatewayDep) -> Response:
    """The whole list as CSV, oldest first: number (empty once erased), number_sha256, reason,
    created_at, source_message_id."""
    with session(gateway.engine) as s:
        rows = consent.all_opt_outs(s)
    return Response(
        opt_outs_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="opt-outs.csv"'},
    )


def opt_outs_csv(rows: list[Suppression]) -> str:
    """The opt-out list as CSV (the API's export and the console's)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["number", "number_sha256", "reason", "created_at", "source_message_id"])
    for r in rows:
        writer.writerow([r.number or "", r.number_hash, r.reason, r.created_at.isoformat(), r.source_message_id or ""])
    return out.getvalue()
