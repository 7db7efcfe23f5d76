"""Contacts: people to send to, their lists, and saved segments.

A contact is one E.164 number (unique), read with `phonenumbers` in the account's default
region when written without a country code. Its time zone is the one given, else the
number's own when the numbering plan names exactly one (a Dutch mobile: Europe/Amsterdam;
an Australian mobile could be in any of eight, so it is not guessed), else the account's
default; `time_zone_source` says which, so a later change of number re-derives it.

Custom fields are a flat JSON object of strings, numbers, booleans (names like Python
identifiers, so they can be used in segments and templates).

Bulk import takes rows (from CSV or JSON) and upserts on the number: a row that fails
validation is reported with its row number and reason, and every other row is imported.
Running the same import twice changes nothing the second time.

A segment is a saved filter, evaluated in SQL whenever it is used:

    {"all": [cond, ...]} | {"any": [cond, ...]}          (nested up to 4 deep)
    cond = {"field": F, "op": OP, "value": V}
    F    = number | first_name | last_name | time_zone | created_at | list | fields.<name>
    OP   = eq ne in not_in contains starts_with exists missing gt gte lt lte

Text comparisons ignore case (on SQLite, only of ASCII letters). A number `value`
compares numerically, also with custom fields imported from CSV as text ("42"). `ne`
and `not_in` match contacts that lack the field. `list` takes list ids (eq/in/not_in).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar, cast

import phonenumbers
import sqlalchemy as sa
from phonenumbers import timezone as phone_time_zones
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from gateway.audience.numbertype import number_type
from gateway.core import paging
from gateway.core.db import get_or_raise, rowcount, save
from gateway.core.errors import GatewayError, InvalidInput, NotFound
from gateway.core.models import (
    ConsentRecord,
    Contact,
    ContactList,
    ListMembership,
    Segment,
    TimeZoneSource,
)
from gateway.core.numbers import normalise_number  # re-exported
from gateway.core.timezones import canonical_zone, check_time_zone  # check_time_zone re-exported

__all__ = [
    "AlreadyExists",
    "ContactData",
    "ConsentProof",
    "RowError",
    "ImportResult",
    "normalise_number",
    "resolve_time_zone",
    "check_time_zone",
    "contact_data",
    "create_contact",
    "update_contact",
    "delete_contact",
    "get_contact",
    "find_contact",
    "contacts_page",
    "read_csv",
    "import_contacts",
    "create_list",
    "get_list",
    "all_lists",
    "rename_list",
    "delete_list",
    "add_members",
    "remove_members",
    "list_ids_of",
    "lists_of",
    "list_size",
    "check_rules",
    "rules_clause",
    "create_segment",
    "update_segment",
    "get_segment",
    "all_segments",
    "delete_segment",
    "segment_size",
    "audience",
    "MAX_IMPORT_ROWS",
]

MAX_IMPORT_ROWS = 50_000
MAX_FIELDS = 50
MAX_FIELD_VALUE = 1_000
MAX_NAME = 100
_BATCH = 500
_Named = TypeVar("_Named", ContactList, Segment)  # what has a unique name
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_BUILT_IN = ("number", "first_name", "last_name", "time_zone", "locale")
# BCP 47 as people write it: a language, then subtags (script, region, variant).
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
# Column names a CSV may use for the number.
_NUMBER_COLUMNS = ("number", "phone", "phone_number", "mobile", "msisdn", "to")
_NUMERIC = r"^-?[0-9]+(\.[0-9]+)?$"


class AlreadyExists(GatewayError):
    """A contact with this number, or a list or segment with this name, exists already."""

    code = "conflict"

    def __init__(self, kind: str, key: str, existing_id: int | None) -> None:
        self.kind = kind
        self.key = key
        self.existing_id = existing_id
        super().__init__(f"{kind} {key!r} exists already (id {existing_id})")


@dataclass(frozen=True)
class ContactData:
    """One contact's validated fields; None means 'not given' (left as it is on update)."""

    number: str  # E.164
    first_name: str | None = None
    last_name: str | None = None
    time_zone: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    locale: str | None = None


@dataclass(frozen=True)
class ConsentProof:
    """How an imported audience gave consent: recorded as one opt-in per contact."""

    source: str
    proof: str | None = None
    ip: str | None = None


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row (a CSV's header is row 0)
    number: str | None
    field: str
    message: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    contact_ids: list[int] = field(default_factory=list)  # of the imported rows, in order
    # Imported rows by line type (gateway.audience.numbertype): campaigns skip non-mobiles.
    number_types: dict[str, int] = field(default_factory=dict)


# --- numbers and time zones ---------------------------------------------------------------


def resolve_time_zone(number: str, given: str | None, default: str) -> tuple[str, TimeZoneSource]:
    """The zone a contact lives in, and where it came from: given, the number, or the default."""
    if given:
        return check_time_zone(given), "given"
    zones = phone_time_zones.time_zones_for_number(phonenumbers.parse(number))
    if len(zones) == 1 and (zone := canonical_zone(zones[0])) is not None:
        return zone, "number"
    return check_time_zone(default, field="default_time_zone"), "default"


# --- one contact --------------------------------------------------------------------------


def contact_data(raw: Mapping[str, Any], *, region: str) -> ContactData:
    """Validate one contact as given by the API or an import row; raises InvalidInput.

    Keys other than the built-in ones (and a nested `fields` object) are custom fields.
    Empty strings and None count as not given.
    """
    values = {k: v for k, v in raw.items() if not _blank(v)}
    number_key = next((k for k in _NUMBER_COLUMNS if k in values), None)
    if number_key is None:
        raise InvalidInput("number", "missing")
    number = values.pop(number_key)
    if isinstance(number, bool) or not isinstance(number, (str, int)):
        raise InvalidInput("number", "must be text")
    for other in _NUMBER_COLUMNS:
        values.pop(other, None)
    e164 = normalise_number(str(number), region)
    first = _name(values.pop("first_name", None), "first_name")
    last = _name(values.pop("last_name", None), "last_name")
    zone = values.pop("time_zone", None)
    if zone is not None:
        if not isinstance(zone, str):
            raise InvalidInput("time_zone", "must be text")
        zone = check_time_zone(zone)
    locale = check_locale(values.pop("locale", None))
    nested = values.pop("fields", None) or {}
    if not isinstance(nested, Mapping):
        raise InvalidInput("fields", "must be an object")
    custom = check_fields({**values, **nested})
    return ContactData(e164, first, last, zone, custom, locale)


def check_locale(value: Any) -> str | None:
    """A BCP 47 language tag in its usual case (`pt-BR`, `zh-Hant-TW`); None stays None."""
    if value is None:
        return None
    if not isinstance(value, str) or not _LOCALE.fullmatch(value.strip()):
        raise InvalidInput("locale", "a BCP 47 language tag such as tr, pt-BR or en-GB")
    language, *rest = value.strip().replace("_", "-").split("-")
    subtags = [t.upper() if len(t) == 2 else t.title() if len(t) == 4 else t.lower() for t in rest]
    return "-".join([language.lower(), *subtags])


def check_fields(fields: Mapping[str, Any], *, allow_delete: bool = False) -> dict[str, Any]:
    """Custom fields as stored; with `allow_delete`, None values (meaning: remove) are kept."""
    if len(fields) > MAX_FIELDS:
        raise InvalidInput("fields", f"at most {MAX_FIELDS} custom fields")
    checked: dict[str, Any] = {}
    for name, value in fields.items():
        where = f"fields.{name}"
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name) or name in _BUILT_IN:
            raise InvalidInput(
                where, "a field name is letters, digits and _ (not first), at most 64, and not a built-in field"
            )
        if value is None and allow_delete:
            checked[name] = None
        elif isinstance(value, str):
            if len(value) > MAX_FIELD_VALUE:
                raise InvalidInput(where, f"at most {MAX_FIELD_VALUE} characters")
            if "\x00" in value:
                raise InvalidInput(where, "contains U+0000")
            checked[name] = value
        elif isinstance(value, (bool, int, float)) and value == value and abs(value) != float("inf"):
            checked[name] = value
        else:
            raise InvalidInput(where, "must be text, a number or true/false")
    return checked


def create_contact(
    s: Session,
    data: ContactData,
    *,
    now: datetime,
    default_time_zone: str,
    list_ids: Sequence[int] = (),
) -> Contact:
    """Add a contact (flushed, not committed); AlreadyExists if its number is taken."""
    existing = find_contact(s, data.number)
    if existing is not None:
        raise AlreadyExists("contact", data.number, existing.id)
    for list_id in list_ids:
        get_list(s, list_id)
    contact = _new_contact(data, default_time_zone, now)
    s.add(contact)
    s.flush()
    assert contact.id is not None  # the flush assigned it
    for list_id in list_ids:
        s.add(ListMembership(list_id=list_id, contact_id=contact.id, added_at=now))
    s.flush()
    return contact


def update_contact(
    s: Session, contact_id: int, changes: Mapping[str, Any], *, region: str, now: datetime, default_time_zone: str
) -> Contact:
    """Change the given keys of a contact (flushed). `fields` is merged: a null value removes
    that field. `time_zone` null goes back to the derived zone. Raises NotFound,
    InvalidInput, AlreadyExists (a number another contact has)."""
    contact = get_contact(s, contact_id)
    if "number" in changes:
        number = normalise_number(str(changes["number"] or ""), region)
        if number != contact.number:
            other = find_contact(s, number)
            if other is not None:
                raise AlreadyExists("contact", number, other.id)
            contact.number = number
    for name in ("first_name", "last_name"):
        if name in changes:
            setattr(contact, name, _name(changes[name], name))
    if "locale" in changes:
        contact.locale = check_locale(changes["locale"] or None)
    if "fields" in changes:
        given = changes["fields"] or {}
        if not isinstance(given, Mapping):
            raise InvalidInput("fields", "must be an object")
        merged = {**contact.custom_fields, **check_fields(given, allow_delete=True)}
        merged = {k: v for k, v in merged.items() if v is not None}
        contact.custom_fields = check_fields(merged)
    given_zone = contact.time_zone if contact.time_zone_source == "given" else None
    if "time_zone" in changes:
        given_zone = changes["time_zone"] or None
    contact.time_zone, contact.time_zone_source = resolve_time_zone(contact.number, given_zone, default_time_zone)
    return save(s, contact, now=now)


def delete_contact(s: Session, contact_id: int) -> None:
    """Remove a contact and its list memberships. Its consent ledger stays (as evidence,
    by number); `gateway.audience.privacy.erase` is the one that forgets a person."""
    contact = get_contact(s, contact_id)
    s.delete(contact)
    s.flush()


def get_contact(s: Session, contact_id: int) -> Contact:
    return get_or_raise(s, Contact, contact_id, "contact")


def find_contact(s: Session, number: str) -> Contact | None:
    return s.exec(select(Contact).where(Contact.number == number)).first()


def contacts_page(
    s: Session,
    *,
    cursor: str | None,
    limit: int,
    list_id: int | None = None,
    segment_id: int | None = None,
    number: str | None = None,
) -> paging.Page[Contact]:
    """Contacts, newest first, one page from `cursor`; `number` in E.164."""
    query = select(Contact)
    if number is not None:
        query = query.where(Contact.number == number)
    if list_id is not None:
        get_list(s, list_id)
        query = query.where(_on_lists([list_id]))
    if segment_id is not None:
        query = query.where(rules_clause(get_segment(s, segment_id).rules, _dialect(s)))
    return paging.query_page(s, query, Contact.created_at, Contact.id, cursor=cursor, limit=limit)


# --- bulk import --------------------------------------------------------------------------


def read_csv(text: str) -> list[dict[str, str]]:
    """Rows of a CSV with a header line (`number` or `phone` … among its columns).

    Header names are read without case or surrounding spaces; the delimiter (comma,
    semicolon, tab) is sniffed. Raises InvalidInput naming `body`.
    """
    text = text.lstrip("\ufeff")  # a byte-order mark from spreadsheet exports
    if not text.strip():
        raise InvalidInput("body", "empty CSV")
    first_line = text.splitlines()[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
        if not any(h in _NUMBER_COLUMNS for h in header):
            raise InvalidInput("body", f"the CSV header needs a number column ({', '.join(_NUMBER_COLUMNS)})")
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            rows.append({h: c.strip() for h, c in zip(header, cells, strict=False) if h})  # short rows leave fields out
            if len(rows) > MAX_IMPORT_ROWS:
                raise InvalidInput("body", f"at most {MAX_IMPORT_ROWS} rows per import")
    except csv.Error as exc:
        raise InvalidInput("body", f"not valid CSV: {exc}") from None
    return rows


def import_contacts(
    s: Session,
    rows: Iterable[Mapping[str, Any]],
    *,
    region: str,
    default_time_zone: str,
    now: datetime,
    list_ids: Sequence[int] = (),
    opt_in: ConsentProof | None = None,
) -> ImportResult:
    """Upsert contacts by number (flushed, not committed); bad rows are reported, not fatal.

    An existing contact gets the row's values for the fields the row gives (custom fields
    are merged). Every imported contact is put on `list_ids`. With `opt_in`, an opt-in is
    recorded for each imported number whose latest consent is not already an opt-in.
    """
    for list_id in list_ids:
        get_list(s, list_id)
    result = ImportResult()
    batch: list[tuple[int, ContactData]] = []
    for index, raw in enumerate(rows, 1):
        if index > MAX_IMPORT_ROWS:
            raise InvalidInput("body", f"at most {MAX_IMPORT_ROWS} rows per import")
        if not isinstance(raw, Mapping):
            result.errors.append(RowError(index, None, "row", "must be an object"))
            continue
        try:
            batch.append((index, contact_data(raw, region=region)))
        except InvalidInput as exc:
            number = raw.get("number") or raw.get("phone")
            result.errors.append(RowError(index, str(number) if number is not None else None, exc.field, str(exc)))
        if len(batch) >= _BATCH:
            _import_batch(
                s, batch, result, default_time_zone=default_time_zone, now=now, list_ids=list_ids, opt_in=opt_in
            )
            batch = []
    if batch:
        _import_batch(s, batch, result, default_time_zone=default_time_zone, now=now, list_ids=list_ids, opt_in=opt_in)
    return result


def _import_batch(
    s: Session,
    batch: list[tuple[int, ContactData]],
    result: ImportResult,
    *,
    default_time_zone: str,
    now: datetime,
    list_ids: Sequence[int],
    opt_in: ConsentProof | None,
) -> None:
    numbers = {data.number for _, data in batch}
    known = {c.number: c for c in s.exec(select(Contact).where(col(Contact.number).in_(numbers)))}
    touched: list[Contact] = []
    for _, data in batch:
        kind = number_type(data.number)
        result.number_types[kind] = result.number_types.get(kind, 0) + 1
        contact = known.get(data.number)
        if contact is None:
            contact = _new_contact(data, default_time_zone, now)
            s.add(contact)
            known[data.number] = contact
            result.created += 1
        elif _merge(contact, data, default_time_zone):
            contact.updated_at = now
            s.add(contact)
            result.updated += 1
        else:
            result.unchanged += 1
        touched.append(contact)
    s.flush()
    result.contact_ids.extend(c.id for c in touched)  # type: ignore[misc]
    ids = {c.id for c in touched if c.id is not None}  # all of them: the flush assigned the ids
    for list_id in list_ids:
        present = set(
            s.exec(
                select(ListMembership.contact_id).where(
                    col(ListMembership.list_id) == list_id, col(ListMembership.contact_id).in_(ids)
                )
            )
        )
        s.add_all(ListMembership(list_id=list_id, contact_id=i, added_at=now) for i in ids - present)
    if opt_in is not None:
        latest = _latest_consent(s, numbers)
        for number in sorted(numbers):
            if latest.get(number) != "opt_in":
                s.add(
                    ConsentRecord(
                        number=number,
                        contact_id=known[number].id,
                        kind="opt_in",
                        source=opt_in.source,
                        proof=opt_in.proof,
                        ip=opt_in.ip,
                        recorded_at=now,
                    )
                )
    s.flush()


def _merge(contact: Contact, data: ContactData, default_time_zone: str) -> bool:
    """Apply an import row to an existing contact; True if anything changed."""
    before = (contact.first_name, contact.last_name, contact.time_zone, contact.time_zone_source, contact.custom_fields)
    before_locale = contact.locale
    if data.locale is not None:
        contact.locale = data.locale
    if data.first_name is not None:
        contact.first_name = data.first_name
    if data.last_name is not None:
        contact.last_name = data.last_name
    if data.time_zone is not None:
        contact.time_zone, contact.time_zone_source = data.time_zone, "given"
    if data.custom_fields:
        merged = {**contact.custom_fields, **data.custom_fields}
        if len(merged) > MAX_FIELDS:
            merged = contact.custom_fields  # keep what was there rather than drop fields silently
        contact.custom_fields = merged
    after = (contact.first_name, contact.last_name, contact.time_zone, contact.time_zone_source, contact.custom_fields)
    return before != after or before_locale != contact.locale


def _latest_consent(s: Session, numbers: Iterable[str]) -> dict[str, str]:
    rows = s.exec(
        select(ConsentRecord.number, ConsentRecord.kind)
        .where(col(ConsentRecord.number).in_(list(numbers)))
        .order_by(col(ConsentRecord.number), col(ConsentRecord.recorded_at), col(ConsentRecord.id))
    )
    return {number: kind for number, kind in rows}  # the last one per number wins


# --- lists --------------------------------------------------------------------------------


def create_list(s: Session, name: str, *, kind: Literal["list", "exclude"] = "list", now: datetime) -> ContactList:
    return _create_named(s, ContactList, "list", name, kind=kind, created_at=now)


def get_list(s: Session, list_id: int) -> ContactList:
    return get_or_raise(s, ContactList, list_id, "list")


def all_lists(s: Session) -> list[ContactList]:
    return list(s.exec(select(ContactList).order_by(col(ContactList.id))))


def rename_list(s: Session, list_id: int, name: Any) -> ContactList:
    """Give a list another name, one no other list has."""
    row = get_list(s, list_id)
    new = _name(name, "name")
    if not new:
        raise InvalidInput("name", "missing")
    _check_name_free(s, ContactList, "list", new, other_than=list_id)
    row.name = new
    s.add(row)
    s.flush()
    return row


def delete_list(s: Session, list_id: int) -> None:
    """Remove a list; its contacts stay."""
    s.delete(get_list(s, list_id))
    s.flush()


def add_members(s: Session, list_id: int, contact_ids: Iterable[int], *, now: datetime) -> int:
    """Put contacts on a list; returns how many were not on it yet. NotFound for an unknown id."""
    get_list(s, list_id)
    wanted = set(contact_ids)
    found = set(s.exec(select(col(Contact.id)).where(col(Contact.id).in_(wanted))))
    if missing := wanted - found:
        raise NotFound("contact", min(missing))
    present = set(
        s.exec(
            select(col(ListMembership.contact_id)).where(
                col(ListMembership.list_id) == list_id, col(ListMembership.contact_id).in_(wanted)
            )
        )
    )
    new = wanted - present
    s.add_all(ListMembership(list_id=list_id, contact_id=i, added_at=now) for i in sorted(new))
    s.flush()
    return len(new)


def remove_members(s: Session, list_id: int, contact_ids: Iterable[int]) -> int:
    """Take contacts off a list; returns how many were on it."""
    get_list(s, list_id)
    result = s.execute(
        sa.delete(ListMembership).where(
            col(ListMembership.list_id) == list_id, col(ListMembership.contact_id).in_(set(contact_ids))
        )
    )
    return rowcount(result)


def list_ids_of(s: Session, contact_id: int) -> list[int]:
    return list(
        s.exec(
            select(col(ListMembership.list_id))
            .where(col(ListMembership.contact_id) == contact_id)
            .order_by(col(ListMembership.list_id))
        )
    )


def lists_of(s: Session, contact_ids: Iterable[int]) -> dict[int, list[int]]:
    """The list ids of each of several contacts (one query)."""
    found: dict[int, list[int]] = {i: [] for i in contact_ids}
    if found:
        rows = s.exec(
            select(ListMembership.contact_id, ListMembership.list_id)
            .where(col(ListMembership.contact_id).in_(list(found)))
            .order_by(col(ListMembership.list_id))
        )
        for contact_id, list_id in rows:
            found[contact_id].append(list_id)
    return found


def list_size(s: Session, list_id: int) -> int:
    return s.exec(select(sa.func.count()).select_from(ListMembership).where(ListMembership.list_id == list_id)).one()


# --- segments -----------------------------------------------------------------------------

_OPS = ("eq", "ne", "in", "not_in", "contains", "starts_with", "exists", "missing", "gt", "gte", "lt", "lte")
_FIELDS = ("number", "first_name", "last_name", "time_zone", "created_at", "list")
_MAX_DEPTH = 4
_MAX_CONDITIONS = 100


def check_rules(rules: Any) -> dict[str, Any]:
    """Validate a segment's rules (see the module docstring); raises InvalidInput naming `rules`."""
    count = [0]
    _check_group(rules, "rules", 1, count)
    return rules


def _check_group(group: Any, where: str, depth: int, count: list[int]) -> None:
    if not isinstance(group, Mapping) or len(group) != 1 or next(iter(group)) not in ("all", "any"):
        raise InvalidInput(where, 'must be {"all": [...]} or {"any": [...]}')
    if depth > _MAX_DEPTH:
        raise InvalidInput(where, f"groups nest at most {_MAX_DEPTH} deep")
    key = next(iter(group))
    items = group[key]
    if not isinstance(items, list):
        raise InvalidInput(f"{where}.{key}", "must be a list")
    for i, item in enumerate(items):
        here = f"{where}.{key}[{i}]"
        if isinstance(item, Mapping) and ("all" in item or "any" in item):
            _check_group(item, here, depth + 1, count)
        else:
            count[0] += 1
            if count[0] > _MAX_CONDITIONS:
                raise InvalidInput("rules", f"at most {_MAX_CONDITIONS} conditions")
            _check_condition(item, here)


def _check_condition(cond: Any, where: str) -> None:
    if not isinstance(cond, Mapping) or set(cond) - {"field", "op", "value"} or "field" not in cond or "op" not in cond:
        raise InvalidInput(where, 'a condition is {"field": …, "op": …, "value": …}')
    name, op, value = cond["field"], cond["op"], cond.get("value")
    if not isinstance(name, str) or not (
        name in _FIELDS or (name.startswith("fields.") and _FIELD_NAME.fullmatch(name[7:]))
    ):
        raise InvalidInput(f"{where}.field", f"one of {', '.join(_FIELDS)} or fields.<name>")
    if op not in _OPS:
        raise InvalidInput(f"{where}.op", f"one of {', '.join(_OPS)}")
    if op in ("exists", "missing"):
        if name == "list":
            raise InvalidInput(f"{where}.op", "list takes eq, in or not_in")
        return
    if name == "list":
        ids = value if op in ("in", "not_in") else [value]
        if op not in ("eq", "in", "not_in") or not isinstance(ids, list) or not all(_is_id(v) for v in ids):
            raise InvalidInput(f"{where}.value", "list takes eq with a list id, or in/not_in with a list of ids")
        return
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > 1000 or not all(_scalar(v) for v in value):
            raise InvalidInput(f"{where}.value", "a list of 1 to 1000 texts or numbers")
        return
    if not _scalar(value):
        raise InvalidInput(f"{where}.value", "text, a number or true/false")
    if op in ("contains", "starts_with") and not isinstance(value, str):
        raise InvalidInput(f"{where}.value", f"{op} takes text")
    if name == "created_at":
        if op not in ("eq", "ne", "gt", "gte", "lt", "lte") or not isinstance(value, str):
            raise InvalidInput(f"{where}.value", "an ISO 8601 time with offset")
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            stamp = None
        if stamp is None or stamp.tzinfo is None:
            raise InvalidInput(f"{where}.value", "an ISO 8601 time with offset")


def rules_clause(rules: Mapping[str, Any], dialect: str) -> sa.ColumnElement[bool]:
    """The SQL condition on `contact` that `rules` (already checked) stand for."""
    key = next(iter(rules))
    parts = [
        rules_clause(item, dialect) if ("all" in item or "any" in item) else _condition(item, dialect)
        for item in rules[key]
    ]
    if not parts:
        return sa.true() if key == "all" else sa.false()
    return sa.and_(*parts) if key == "all" else sa.or_(*parts)


def _condition(cond: Mapping[str, Any], dialect: str) -> sa.ColumnElement[bool]:
    name, op = cond["field"], cond["op"]
    value: Any = cond.get("value")
    if name == "list":
        ids = value if op in ("in", "not_in") else [value]
        clause = _on_lists(ids)
        return sa.not_(clause) if op == "not_in" else clause
    if name == "created_at":
        return _compare(
            Contact.created_at, op, datetime.fromisoformat(value) if value is not None else None, Contact.created_at
        )
    custom = name.startswith("fields.")
    text = _json_text(name[7:], dialect) if custom else getattr(Contact, name)
    if op in ("exists", "missing"):
        return text.is_not(None) if op == "exists" else text.is_(None)
    values = value if op in ("in", "not_in") else [value]
    if custom and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return _compare(_json_number(name[7:], dialect), op, value, text)
    if op in ("in", "not_in"):
        clause = sa.func.lower(text).in_([_as_text(v).lower() for v in values])
        return sa.or_(text.is_(None), sa.not_(clause)) if op == "not_in" else clause
    return _compare(sa.func.lower(text), op, _as_text(value).lower(), text)


def _compare(column: Any, op: str, value: Any, presence: Any) -> sa.ColumnElement[bool]:
    if op == "eq":
        return column == value
    if op == "ne":
        return sa.or_(presence.is_(None), column != value)
    if op == "in":
        return column.in_(value)
    if op == "not_in":
        return sa.or_(presence.is_(None), column.not_in(value))
    if op == "contains":
        return column.contains(value, autoescape=True)
    if op == "starts_with":
        return column.startswith(value, autoescape=True)
    return {"gt": column > value, "gte": column >= value, "lt": column < value, "lte": column <= value}[op]


def _json_text(name: str, dialect: str) -> Any:
    """A custom field as text the same way on both databases: true/false, 42, 4.5, or NULL."""
    if dialect == "postgresql":
        return Contact.custom_fields[name].as_string()
    path = sa.literal(f'$."{name}"')
    kind = sa.func.json_type(Contact.custom_fields, path)
    return sa.case(
        (kind == "true", "true"),
        (kind == "false", "false"),
        (kind == "null", sa.null()),
        else_=sa.cast(sa.func.json_extract(Contact.custom_fields, path), sa.Text),
    )


def _json_number(name: str, dialect: str) -> Any:
    """A custom field as a number when it is one or is text that reads as one, else NULL."""
    text = _json_text(name, dialect)
    return sa.case((text.regexp_match(_NUMERIC), sa.cast(text, sa.Float)), else_=sa.null())


def _on_lists(ids: Iterable[int]) -> sa.ColumnElement[bool]:
    return sa.exists().where(
        col(ListMembership.contact_id) == col(Contact.id), col(ListMembership.list_id).in_(list(ids))
    )


def create_segment(s: Session, name: str, rules: Any, *, now: datetime) -> Segment:
    return _create_named(s, Segment, "segment", name, rules=check_rules(rules), created_at=now, updated_at=now)


def update_segment(
    s: Session, segment_id: int, *, now: datetime, name: str | None = None, rules: Any = None
) -> Segment:
    row = get_segment(s, segment_id)
    if name is not None:
        name = _name(name, "name") or ""
        _check_name_free(s, Segment, "segment", name, other_than=segment_id)
        row.name = name
    if rules is not None:
        row.rules = check_rules(rules)
    return save(s, row, now=now)


def get_segment(s: Session, segment_id: int) -> Segment:
    return get_or_raise(s, Segment, segment_id, "segment")


def all_segments(s: Session) -> list[Segment]:
    return list(s.exec(select(Segment).order_by(col(Segment.id))))


def delete_segment(s: Session, segment_id: int) -> None:
    s.delete(get_segment(s, segment_id))
    s.flush()


def segment_size(s: Session, rules: Mapping[str, Any]) -> int:
    return s.exec(select(sa.func.count()).select_from(Contact).where(rules_clause(rules, _dialect(s)))).one()


def audience(
    s: Session, *, lists: Sequence[int] = (), segments: Sequence[int] = (), exclude_lists: Sequence[int] = ()
) -> SelectOfScalar[int]:
    """Contact ids on any of `lists` or in any of `segments`, minus those on any of
    `exclude_lists` (a query to stream, ordered by id). Lists must be of kind `list`,
    exclude lists of kind `exclude`; NotFound / InvalidInput otherwise."""
    for list_id in lists:
        if get_list(s, list_id).kind != "list":
            raise InvalidInput("lists", f"list {list_id} is an exclude list")
    for list_id in exclude_lists:
        if get_list(s, list_id).kind != "exclude":
            raise InvalidInput("exclude_lists", f"list {list_id} is not an exclude list")
    dialect = _dialect(s)
    included = []
    if lists:
        included.append(_on_lists(lists))
    included.extend(rules_clause(get_segment(s, i).rules, dialect) for i in segments)
    query = select(Contact.id).where(sa.or_(*included) if included else sa.false())
    if exclude_lists:
        query = query.where(sa.not_(_on_lists(exclude_lists)))
    return cast("SelectOfScalar[int]", query.order_by(col(Contact.id)))  # ids of stored rows are never None


# --- helpers ------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _new_contact(data: ContactData, default_time_zone: str, now: datetime) -> Contact:
    zone, source = resolve_time_zone(data.number, data.time_zone, default_time_zone)
    return Contact(
        number=data.number,
        first_name=data.first_name,
        last_name=data.last_name,
        custom_fields=dict(data.custom_fields),
        time_zone=zone,
        time_zone_source=source,
        locale=data.locale,
        created_at=now,
        updated_at=now,
    )


def _create_named(s: Session, model: type[_Named], what: str, name: Any, **fields: Any) -> _Named:
    """A new list or segment (flushed): its name given, and none of its kind has it yet."""
    name = _name(name, "name")
    if not name:
        raise InvalidInput("name", "missing")
    _check_name_free(s, model, what, name)
    row = model(name=name, **fields)
    s.add(row)
    s.flush()
    return row


def _check_name_free(s: Session, model: type[_Named], what: str, name: str, *, other_than: int | None = None) -> None:
    query = select(model).where(col(model.name) == name)
    if other_than is not None:
        query = query.where(col(model.id) != other_than)
    existing = s.exec(query).first()
    if existing is not None:
        raise AlreadyExists(what, name, existing.id)


def _name(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, "must be text")
    value = value.strip()
    if len(value) > MAX_NAME:
        raise InvalidInput(field, f"at most {MAX_NAME} characters")
    if not value.isprintable():
        raise InvalidInput(field, "contains a control character")
    return value or None


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, bool)) or (isinstance(value, (int, float)) and value == value)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 2**31 - 1


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _dialect(s: Session) -> str:
    return s.get_bind().dialect.name
