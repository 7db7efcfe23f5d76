"""Contacts: the list with consent and opt-out state, CSV import with each bad row's error,
one contact's timeline, export, and erasure after typing the number to confirm."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.web import ConsoleRoute, Viewer, check_csrf, gateway_of, render, require
from api.deps import RowId
from gateway.audience import consent, contacts, privacy
from gateway.audience.consent import ConsentSettings
from gateway.audience.contacts import ConsentProof
from gateway.core.db import session
from gateway.core.errors import InvalidInput
from gateway.core.numbers import normalise_number
from gateway.core.runtime import Gateway

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PAGE = 50
MAX_CSV = 5 * 1024 * 1024


def _default_zone(gateway: Gateway) -> str:
    found = getattr(gateway.settings, "consent", None)
    return (found or ConsentSettings()).default_time_zone


def _page(
    gateway: Gateway, *, cursor: str | None, list_id: int | None, number: str | None, segment_id: int | None = None
) -> dict[str, Any]:
    with session(gateway.engine) as s:
        page = contacts.contacts_page(
            s, cursor=cursor, limit=PAGE, list_id=list_id, number=number, segment_id=segment_id
        )
        states = consent.states(s, [c.number for c in page.items])
        lists = contacts.all_lists(s)
        return {
            "contacts": [(c, *states[c.number]) for c in page.items],
            "next_cursor": page.next_cursor,
            "lists": lists,
        }


@router.get("/contacts")
async def contact_list(
    request: Request,
    signed: Viewer,
    list_id: Annotated[int | None, Query(alias="list", ge=1, le=2**31 - 1)] = None,
    number: Annotated[str, Query(max_length=32)] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    segment_id: Annotated[int | None, Query(alias="segment", ge=1, le=2**31 - 1)] = None,
) -> Response:
    gateway = gateway_of(request)
    e164 = normalise_number(number, gateway.settings.default_region, field="number") if number else None
    view = await run_in_threadpool(_page, gateway, cursor=cursor, list_id=list_id, number=e164, segment_id=segment_id)
    return render(request, "contacts.html", result=None, list_id=list_id, number=number, segment_id=segment_id, **view)


@router.post("/contacts/import")
async def import_csv(
    request: Request,
    signed: Viewer,
    csrf: Annotated[str | None, Form(max_length=100)] = None,
    csv_text: Annotated[str, Form(max_length=MAX_CSV)] = "",
    file: UploadFile | None = None,
    list_name: Annotated[str, Form(max_length=100)] = "",
    consent_source: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    text = csv_text
    if file is not None and file.filename:
        raw = await file.read(MAX_CSV + 1)
        if len(raw) > MAX_CSV:
            raise InvalidInput("file", f"at most {MAX_CSV // (1024 * 1024)} MiB")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("file", "not UTF-8 text") from None
    if not text.strip():
        raise InvalidInput("csv", "paste CSV text or choose a file")
    gateway = gateway_of(request)
    rows = contacts.read_csv(text)

    def work() -> Any:
        with session(gateway.engine, write=True) as s:
            now = gateway.clock.now()
            list_ids: list[int] = []
            if list_name.strip():
                found = next((x for x in contacts.all_lists(s) if x.name == list_name.strip()), None)
                row = found or contacts.create_list(s, list_name.strip(), now=now)
                list_ids.append(row.id)  # type: ignore[arg-type]
            result = contacts.import_contacts(
                s, rows, region=gateway.settings.default_region, default_time_zone=_default_zone(gateway), now=now,
                list_ids=list_ids, opt_in=ConsentProof(consent_source.strip(), None) if consent_source.strip() else None,
            )  # fmt: skip
            s.commit()
            return result

    result = await run_in_threadpool(gateway.writes.now, work)
    view = await run_in_threadpool(_page, gateway, cursor=None, list_id=None, number=None)
    return render(request, "contacts.html", result=result, list_id=None, number="", **view)


@router.get("/contacts/{contact_id}")
async def contact_detail(request: Request, contact_id: RowId, signed: Viewer) -> Response:
    gateway = gateway_of(request)

    def read() -> dict[str, Any]:
        with session(gateway.engine) as s:
            contact = contacts.get_contact(s, contact_id)
            state, opted_out = consent.states(s, [contact.number])[contact.number]
            events = privacy.timeline_page(s, contact_id, cursor=None, limit=100).items
            return {"contact": contact, "consent": state, "opted_out": opted_out, "events": events}

    return render(request, "contact.html", **await run_in_threadpool(read))


@router.get("/contacts/{contact_id}/export")
async def contact_export(request: Request, contact_id: RowId, signed: Viewer) -> Response:
    require(signed, "marketing")
    gateway = gateway_of(request)

    def read() -> dict[str, Any]:
        with session(gateway.engine) as s:
            return privacy.export(s, contact_id)

    body = json.dumps(await run_in_threadpool(read), ensure_ascii=False, indent=2, default=str)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="contact-{contact_id}.json"'},
    )


@router.post("/contacts/{contact_id}/erase")
async def contact_erase(
    request: Request,
    contact_id: RowId,
    signed: Viewer,
    csrf: Annotated[str | None, Form(max_length=100)] = None,
    confirm: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    gateway = gateway_of(request)

    def work() -> None:
        with session(gateway.engine, write=True) as s:
            contact = contacts.get_contact(s, contact_id)
            typed = normalise_number(confirm, gateway.settings.default_region, field="confirm") if confirm else ""
            if typed != contact.number:
                raise InvalidInput("confirm", "type the contact's number to confirm the erasure")
            privacy.erase(s, contact_id, now=gateway.clock.now())
            s.commit()

    await run_in_threadpool(gateway.writes.now, work)
    return RedirectResponse("/contacts", status_code=303)
