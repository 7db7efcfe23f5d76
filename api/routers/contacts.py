"""Contacts, their lists and segments, consent, timeline, export and erasure.

The audience belongs to the gateway, not to one API key: every key sees the same
contacts (as a STOP from a number holds for every key's messages).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.audience_schemas import (
    ConsentIn,
    ConsentOut,
    ContactImportIn,
    ContactImportOut,
    ContactIn,
    ContactOut,
    ContactPatch,
    ErasureOut,
    ListIn,
    ListOut,
    MembersIn,
    MembersOut,
    RowErrorOut,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
    TimelineEventOut,
)
from api.bodies import hand_read_body, invalid_body, parse_json, read_body
from api.deps import ApiRoute, Cursor, GatewayDep, Limit, MarketingKey, RowId, run_write
from api.errors import ApiError
from api.schemas import Page, PhoneNumber
from gateway.audience import consent, contacts, privacy
from gateway.audience.consent import ConsentSettings
from gateway.audience.contacts import ConsentProof
from gateway.audience.numbertype import number_type
from gateway.core.db import session
from gateway.core.models import ConsentRecord, Contact, ContactList, Segment
from gateway.core.runtime import Gateway

router = APIRouter(route_class=ApiRoute, tags=["contacts"])

_DEFAULT_SETTINGS = ConsentSettings()
_IMPORT_BODY = hand_read_body(ContactImportIn, csv_example="number,first_name,city\n+31612345678,Anna,Utrecht\n")


def audience_settings(gateway: Gateway) -> ConsentSettings:
    """`Settings.consent` when the settings have it, else the defaults."""
    return getattr(gateway.settings, "consent", None) or _DEFAULT_SETTINGS


# --- contacts -----------------------------------------------------------------------------


def contact_out(s: Session, contact: Contact) -> ContactOut:
    return contacts_out(s, [contact])[0]


def contacts_out(s: Session, rows: list[Contact]) -> list[ContactOut]:
    lists = contacts.lists_of(s, [c.id for c in rows])  # type: ignore[misc]
    states = consent.states(s, [c.number for c in rows])
    return [
        ContactOut(
            id=c.id,  # type: ignore[arg-type]
            number=c.number,
            first_name=c.first_name,
            last_name=c.last_name,
            fields=c.custom_fields,
            time_zone=c.time_zone,
            time_zone_source=c.time_zone_source,  # type: ignore[arg-type]
            number_type=number_type(c.number),
            locale=c.locale,
            lists=lists[c.id],  # type: ignore[index]
            consent=states[c.number][0],
            opted_out=states[c.number][1],
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
        for c in rows
    ]


def _read_contact(gateway: Gateway, contact_id: int) -> ContactOut:
    with session(gateway.engine) as s:
        return contact_out(s, contacts.get_contact(s, contact_id))


@router.post("/v1/contacts", status_code=201, response_model=ContactOut, responses={404: {}, 409: {}, 422: {}})
def create_contact(body: ContactIn, key: MarketingKey, gateway: GatewayDep) -> ContactOut:
    """Add a contact. 409 (with the existing `id`) if the number is taken; import upserts instead."""
    settings = audience_settings(gateway)
    data = contacts.contact_data(
        {
            "number": body.number,
            "first_name": body.first_name,
            "last_name": body.last_name,
            "time_zone": body.time_zone,
            "fields": body.fields,
            "locale": body.locale,
        },
        region=gateway.settings.default_region,
    )
    contact = run_write(
        gateway,
        contacts.create_contact,
        data,
        now=gateway.clock.now(),
        default_time_zone=settings.default_time_zone,
        list_ids=body.lists,
    )
    return _read_contact(gateway, contact.id)  # type: ignore[arg-type]


@router.get("/v1/contacts", response_model=Page, responses={404: {}, 422: {}})
def list_contacts(
    key: MarketingKey,
    gateway: GatewayDep,
    list_id: Annotated[
        int | None, Query(alias="list", ge=1, le=2**31 - 1, description="Only contacts on this list.")
    ] = None,
    segment: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only contacts this segment matches.")] = None,
    number: Annotated[PhoneNumber | None, Query(max_length=32)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page:
    """Newest first; `next_cursor` fetches the next page."""
    wanted = contacts.normalise_number(number, gateway.settings.default_region) if number else None
    with session(gateway.engine) as s:
        page = contacts.contacts_page(s, cursor=cursor, limit=limit, list_id=list_id, segment_id=segment, number=wanted)
        return Page(items=contacts_out(s, page.items), next_cursor=page.next_cursor)


@router.get("/v1/contacts/{contact_id}", response_model=ContactOut, responses={404: {}})
def get_contact(contact_id: RowId, key: MarketingKey, gateway: GatewayDep) -> ContactOut:
    return _read_contact(gateway, contact_id)


@router.patch("/v1/contacts/{contact_id}", response_model=ContactOut, responses={404: {}, 409: {}, 422: {}})
def patch_contact(contact_id: RowId, body: ContactPatch, key: MarketingKey, gateway: GatewayDep) -> ContactOut:
    """Change the fields given; in `fields` null removes one; `time_zone` null derives it again."""
    changes = body.model_dump(exclude_unset=True)
    if "number" in changes and changes["number"] is None:
        raise ApiError(
            422, "invalid_request", "number: cannot be removed", fields=[{"field": "number", "message": "null"}]
        )
    run_write(
        gateway,
        contacts.update_contact,
        contact_id,
        changes,
        region=gateway.settings.default_region,
        now=gateway.clock.now(),
        default_time_zone=audience_settings(gateway).default_time_zone,
    )
    return _read_contact(gateway, contact_id)


@router.delete("/v1/contacts/{contact_id}", status_code=204, responses={404: {}})
def delete_contact(contact_id: RowId, key: MarketingKey, gateway: GatewayDep) -> None:
    """Remove the contact; its consent ledger stays. `POST …/erase` forgets a person."""
    run_write(gateway, contacts.delete_contact, contact_id)


@router.post(
    "/v1/contacts/import",
    response_model=ContactImportOut,
    responses={404: {}, 415: {}, 422: {}},
    openapi_extra=_IMPORT_BODY,
)
async def import_contacts(
    request: Request,
    key: MarketingKey,
    gateway: GatewayDep,
    csv_lists: Annotated[
        list[int], Query(alias="list", description="CSV: lists to put every imported contact on.")
    ] = [],  # noqa: B006
    consent_source: Annotated[
        str | None, Query(min_length=1, max_length=64, description="CSV: record an opt-in from this source.")
    ] = None,
    consent_proof: Annotated[str | None, Query(max_length=2000)] = None,
) -> ContactImportOut:
    """Upsert contacts by number from a JSON body (`ContactImportIn`) or a CSV with a header
    (`number` column, then first_name, last_name, time_zone and any custom fields). Rows that
    fail are listed in `errors` with their row number; all others are imported."""
    kind, text = await read_body(request)
    if kind == "json":
        try:
            body = ContactImportIn.model_validate(parse_json(text))
        except ValidationError as exc:
            raise invalid_body(exc) from None
        rows: list[Any] = body.contacts
        list_ids = body.lists
        proof = body.opt_in
        opt_in = ConsentProof(proof.source, proof.proof, str(proof.ip) if proof.ip else None) if proof else None
    else:
        rows = contacts.read_csv(text)
        list_ids = csv_lists
        opt_in = ConsentProof(consent_source, consent_proof) if consent_source else None
    if any(not 1 <= i <= 2**31 - 1 for i in list_ids):
        raise ApiError(
            422, "invalid_request", "lists: not a list id", fields=[{"field": "lists", "message": "not a list id"}]
        )
    result = await run_in_threadpool(
        run_write, gateway, contacts.import_contacts, rows, region=gateway.settings.default_region,
        default_time_zone=audience_settings(gateway).default_time_zone, now=gateway.clock.now(),
        list_ids=list_ids, opt_in=opt_in,
    )  # fmt: skip
    return ContactImportOut(
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        errors=[RowErrorOut(row=e.row, number=e.number, field=e.field, message=e.message) for e in result.errors],
        number_types=result.number_types,
    )


@router.get("/v1/contacts/{contact_id}/timeline", response_model=Page, responses={404: {}, 422: {}})
def contact_timeline(
    contact_id: RowId,
    key: MarketingKey,
    gateway: GatewayDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page:
    """Messages, delivery reports, replies and consent events of the contact, newest first."""
    with session(gateway.engine) as s:
        page = privacy.timeline_page(s, contact_id, cursor=cursor, limit=limit)
    return Page(
        items=[TimelineEventOut(at=e.at, type=e.type, id=e.id, data=e.data) for e in page.items],  # type: ignore[arg-type]
        next_cursor=page.next_cursor,
    )


@router.get("/v1/contacts/{contact_id}/export", response_model=dict[str, Any], responses={404: {}})
def export_contact(contact_id: RowId, key: MarketingKey, gateway: GatewayDep) -> dict[str, Any]:
    """Everything stored about the contact: fields, lists, consent, opt-out, messages both ways."""
    with session(gateway.engine) as s:
        return privacy.export(s, contact_id)


@router.post("/v1/contacts/{contact_id}/erase", response_model=ErasureOut, responses={404: {}})
def erase_contact(contact_id: RowId, key: MarketingKey, gateway: GatewayDep) -> ErasureOut:
    """Forget the contact and its finished messages; only the number's sha256 stays, on the
    suppression list, so nothing is sent to it again."""
    erasure = run_write(gateway, privacy.erase, contact_id, now=gateway.clock.now())
    return ErasureOut(**vars(erasure))


def consent_out(r: ConsentRecord) -> ConsentOut:
    return ConsentOut(
        id=r.id,  # type: ignore[arg-type]
        kind=r.kind,
        source=r.source,
        proof=r.proof,
        ip=r.ip,
        reason=r.reason,
        recorded_at=r.recorded_at,
    )


@router.post(
    "/v1/contacts/{contact_id}/consent", status_code=201, response_model=ConsentOut, responses={404: {}, 422: {}}
)
def record_consent(contact_id: RowId, body: ConsentIn, key: MarketingKey, gateway: GatewayDep) -> ConsentOut:
    """Add an entry to the contact's consent ledger. An opt-in does not lift an opt-out
    (STOP): that takes START from the person, or `DELETE /v1/opt-outs/{number}`."""

    def record(s: Session) -> ConsentRecord:
        contact = contacts.get_contact(s, contact_id)
        return consent.record_consent(
            s,
            contact.number,
            body.kind,
            source=body.source,
            proof=body.proof,
            ip=str(body.ip) if body.ip else None,
            contact_id=contact.id,
            now=gateway.clock.now(),
        )

    return consent_out(run_write(gateway, record))


@router.get("/v1/contacts/{contact_id}/consent", response_model=list[ConsentOut], responses={404: {}})
def consent_ledger(contact_id: RowId, key: MarketingKey, gateway: GatewayDep) -> list[ConsentOut]:
    """The consent ledger of the contact's number, oldest first."""
    with session(gateway.engine) as s:
        contact = contacts.get_contact(s, contact_id)
        return [consent_out(r) for r in consent.consent_history(s, contact.number)]


# --- lists --------------------------------------------------------------------------------


def list_out(s: Session, row: ContactList) -> ListOut:
    assert row.id is not None  # a stored row
    return ListOut(
        id=row.id, name=row.name, kind=row.kind, size=contacts.list_size(s, row.id), created_at=row.created_at
    )


@router.post("/v1/lists", status_code=201, response_model=ListOut, responses={409: {}, 422: {}})
def create_list(body: ListIn, key: MarketingKey, gateway: GatewayDep) -> ListOut:
    row = run_write(gateway, contacts.create_list, body.name, kind=body.kind, now=gateway.clock.now())
    return ListOut(id=row.id, name=row.name, kind=row.kind, size=0, created_at=row.created_at)  # type: ignore[arg-type]


@router.get("/v1/lists", response_model=list[ListOut])
def list_lists(key: MarketingKey, gateway: GatewayDep) -> list[ListOut]:
    with session(gateway.engine) as s:
        return [list_out(s, row) for row in contacts.all_lists(s)]


@router.get("/v1/lists/{list_id}", response_model=ListOut, responses={404: {}})
def get_list(list_id: RowId, key: MarketingKey, gateway: GatewayDep) -> ListOut:
    with session(gateway.engine) as s:
        return list_out(s, contacts.get_list(s, list_id))


@router.delete("/v1/lists/{list_id}", status_code=204, responses={404: {}})
def delete_list(list_id: RowId, key: MarketingKey, gateway: GatewayDep) -> None:
    """Remove the list; its contacts stay."""
    run_write(gateway, contacts.delete_list, list_id)


@router.post("/v1/lists/{list_id}/members", response_model=MembersOut, responses={404: {}, 422: {}})
def add_members(list_id: RowId, body: MembersIn, key: MarketingKey, gateway: GatewayDep) -> MembersOut:
    """Put contacts on the list (those already on it are left as they are)."""

    def add(s: Session) -> MembersOut:
        changed = contacts.add_members(s, list_id, body.contact_ids, now=gateway.clock.now())
        return MembersOut(changed=changed, size=contacts.list_size(s, list_id))

    return run_write(gateway, add)


@router.post("/v1/lists/{list_id}/members/remove", response_model=MembersOut, responses={404: {}, 422: {}})
def remove_members(list_id: RowId, body: MembersIn, key: MarketingKey, gateway: GatewayDep) -> MembersOut:
    """Take contacts off the list."""

    def remove(s: Session) -> MembersOut:
        changed = contacts.remove_members(s, list_id, body.contact_ids)
        return MembersOut(changed=changed, size=contacts.list_size(s, list_id))

    return run_write(gateway, remove)


# --- segments -----------------------------------------------------------------------------


def segment_out(s: Session, row: Segment) -> SegmentOut:
    return SegmentOut(
        id=row.id,  # type: ignore[arg-type]
        name=row.name,
        rules=row.rules,
        size=contacts.segment_size(s, row.rules),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.post("/v1/segments", status_code=201, response_model=SegmentOut, responses={409: {}, 422: {}})
def create_segment(body: SegmentIn, key: MarketingKey, gateway: GatewayDep) -> SegmentOut:
    """Save a filter; `GET /v1/contacts?segment=ID` lists whom it matches."""
    row = run_write(gateway, contacts.create_segment, body.name, body.rules, now=gateway.clock.now())
    with session(gateway.engine) as s:
        return segment_out(s, row)


@router.get("/v1/segments", response_model=list[SegmentOut])
def list_segments(key: MarketingKey, gateway: GatewayDep) -> list[SegmentOut]:
    with session(gateway.engine) as s:
        return [segment_out(s, row) for row in contacts.all_segments(s)]


@router.get("/v1/segments/{segment_id}", response_model=SegmentOut, responses={404: {}})
def get_segment(segment_id: RowId, key: MarketingKey, gateway: GatewayDep) -> SegmentOut:
    with session(gateway.engine) as s:
        return segment_out(s, contacts.get_segment(s, segment_id))


@router.patch("/v1/segments/{segment_id}", response_model=SegmentOut, responses={404: {}, 409: {}, 422: {}})
def patch_segment(segment_id: RowId, body: SegmentPatch, key: MarketingKey, gateway: GatewayDep) -> SegmentOut:
    row = run_write(
        gateway, contacts.update_segment, segment_id, name=body.name, rules=body.rules, now=gateway.clock.now()
    )
    with session(gateway.engine) as s:
        return segment_out(s, row)


@router.delete("/v1/segments/{segment_id}", status_code=204, responses={404: {}})
def delete_segment(segment_id: RowId, key: MarketingKey, gateway: GatewayDep) -> None:
    run_write(gateway, contacts.delete_segment, segment_id)
