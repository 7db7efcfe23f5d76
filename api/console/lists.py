"""Lists and segments: make, rename and delete a list, put contacts on it and take them off
(by number); make a segment from a few conditions on contact fields, and delete one.
Anyone signed in reads; changes need the marketing scope (marketer, admin)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.web import ConsoleRoute, Viewer, check_csrf, gateway_of, render, require
from api.deps import RowId
from gateway.audience import contacts
from gateway.core.db import session
from gateway.core.errors import InvalidInput
from gateway.core.runtime import Gateway

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Csrf = Annotated[str | None, Form(max_length=100)]
Name = Annotated[str, Form(max_length=100)]
FIELDS = ("first_name", "last_name", "number", "time_zone", "created_at", "list")
OPS = ("eq", "ne", "contains", "starts_with", "in", "not_in", "exists", "missing", "gt", "gte", "lt", "lte")
CONDITIONS = 3  # condition rows on the segment form


def _view(gateway: Gateway) -> dict[str, Any]:
    with session(gateway.engine) as s:
        lists = [(x, contacts.list_size(s, x.id)) for x in contacts.all_lists(s)]  # type: ignore[arg-type]
        segments = [(x, contacts.segment_size(s, x.rules)) for x in contacts.all_segments(s)]
    return {"lists": lists, "segments": segments, "fields": FIELDS, "ops": OPS, "conditions": CONDITIONS}


@router.get("/lists")
async def lists_page(request: Request, signed: Viewer, done: str = "") -> Response:
    view = await run_in_threadpool(_view, gateway_of(request))
    return render(request, "lists.html", done=done[:200], **view)


@router.post("/lists")
async def create_list(
    request: Request,
    signed: Viewer,
    csrf: Csrf = None,
    name: Name = "",
    kind: Annotated[Literal["list", "exclude"], Form()] = "list",
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    gateway = gateway_of(request)
    await _write(gateway, lambda s: contacts.create_list(s, name, kind=kind, now=gateway.clock.now()))
    return _back(f"List {name.strip()} made.")


@router.post("/lists/{list_id}/rename")
async def rename_list(request: Request, list_id: RowId, signed: Viewer, csrf: Csrf = None, name: Name = "") -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    await _write(gateway_of(request), lambda s: contacts.rename_list(s, list_id, name))
    return _back(f"List renamed to {name.strip()}.")


@router.post("/lists/{list_id}/delete")
async def delete_list(request: Request, list_id: RowId, signed: Viewer, csrf: Csrf = None) -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    await _write(gateway_of(request), lambda s: contacts.delete_list(s, list_id))
    return _back("List deleted; its contacts stay.")


@router.post("/lists/{list_id}/members")
async def change_members(
    request: Request,
    list_id: RowId,
    signed: Viewer,
    csrf: Csrf = None,
    numbers: Annotated[str, Form(max_length=20_000)] = "",
    action: Annotated[Literal["add", "remove"], Form()] = "add",
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    gateway = gateway_of(request)
    region = gateway.settings.default_region

    def work(s: Any) -> int:
        ids = _contact_ids(s, numbers, region)
        if action == "add":
            return contacts.add_members(s, list_id, ids, now=gateway.clock.now())
        return contacts.remove_members(s, list_id, ids)

    changed = await _write(gateway, work)
    return _back(f"{changed} contact(s) {'added to' if action == 'add' else 'taken off'} the list.")


@router.post("/segments")
async def create_segment(
    request: Request,
    signed: Viewer,
    csrf: Csrf = None,
    name: Name = "",
    match: Annotated[Literal["all", "any"], Form()] = "all",
    field: Annotated[list[str] | None, Form(max_length=70)] = None,
    op: Annotated[list[str] | None, Form(max_length=20)] = None,
    value: Annotated[list[str] | None, Form(max_length=500)] = None,
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    gateway = gateway_of(request)
    rules = segment_rules(match, field or [], op or [], value or [])
    await _write(gateway, lambda s: contacts.create_segment(s, name, rules, now=gateway.clock.now()))
    return _back(f"Segment {name.strip()} made.")


@router.post("/segments/{segment_id}/delete")
async def delete_segment(request: Request, segment_id: RowId, signed: Viewer, csrf: Csrf = None) -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    await _write(gateway_of(request), lambda s: contacts.delete_segment(s, segment_id))
    return _back("Segment deleted.")


def segment_rules(match: str, fields: list[str], ops: list[str], values: list[str]) -> dict[str, Any]:
    """The rules of the segment form's condition rows (a row without a field is unused):
    `in` / `not_in` take a comma-separated list, `exists` / `missing` no value, `list`
    list ids; the rules are then checked by `contacts.check_rules`."""
    conditions: list[dict[str, Any]] = []
    for i, name in enumerate(fields):
        name = name.strip()
        if not name:
            continue
        operator = ops[i] if i < len(ops) else "eq"
        text = (values[i] if i < len(values) else "").strip()
        cond: dict[str, Any] = {"field": name if name in FIELDS else f"fields.{name}", "op": operator}
        if operator in ("in", "not_in"):
            items = [v.strip() for v in text.split(",") if v.strip()]
            cond["value"] = [_list_id(v) for v in items] if name == "list" else items
        elif operator not in ("exists", "missing"):
            cond["value"] = _list_id(text) if name == "list" else text
        conditions.append(cond)
    if not conditions:
        raise InvalidInput("rules", "give at least one condition (a field, a test and a value)")
    return {match: conditions}


def _list_id(text: str) -> int:
    if not text.isdigit():
        raise InvalidInput("value", "a list is given by its number (shown beside its name)")
    return int(text)


def _contact_ids(s: Any, numbers: str, region: str) -> list[int]:
    """The contacts of the numbers given (one per line or comma-separated); an unknown or
    malformed number is an error naming it, and nothing is changed."""
    wanted = [n.strip() for n in numbers.replace(",", "\n").splitlines() if n.strip()]
    if not wanted:
        raise InvalidInput("numbers", "give one number per line")
    ids = []
    for raw in wanted:
        found = contacts.find_contact(s, contacts.normalise_number(raw, region, field="numbers"))
        if found is None or found.id is None:
            raise InvalidInput("numbers", f"no contact has the number {raw} (import it first)")
        ids.append(found.id)
    return ids


async def _write(gateway: Gateway, change: Any) -> Any:
    def work() -> Any:
        with session(gateway.engine, write=True) as s:
            result = change(s)
            s.commit()
            return result

    return await run_in_threadpool(gateway.writes.now, work)


def _back(done: str) -> Response:
    return RedirectResponse(f"/lists?done={quote(done)}", status_code=303)
