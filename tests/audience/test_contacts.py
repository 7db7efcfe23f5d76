"""Contacts: numbers, time zones, bulk import with bad rows, lists and segments, on both databases."""

from __future__ import annotations

import pytest
from sqlmodel import select

from gateway.audience import contacts
from gateway.audience.contacts import (
    AlreadyExists,
    ConsentProof,
    contact_data,
    import_contacts,
    read_csv,
    resolve_time_zone,
)
from gateway.core.errors import InvalidInput
from gateway.core.models import ConsentRecord, Contact
from tests.support.clock import T0


def _import(s, text, **options):
    options.setdefault("region", "NL")
    options.setdefault("default_time_zone", "America/Chicago")
    return import_contacts(s, read_csv(text), now=T0, **options)


def _numbers(s, rules):
    contacts.check_rules(rules)
    rows = s.exec(select(Contact.number).where(contacts.rules_clause(rules, s.get_bind().dialect.name)))
    return sorted(rows)


# --- time zones (no database) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "given", "zone", "source"),
    [
        ("+31612345678", None, "Europe/Amsterdam", "number"),  # one zone for the whole country
        ("+12125551234", None, "America/New_York", "number"),  # a US area code has one
        ("+61412345678", None, "America/Chicago", "default"),  # an Australian mobile: eight zones
        ("+79161234567", None, "America/Chicago", "default"),  # a Russian mobile: many
        ("+31612345678", "asia/tokyo", "Asia/Tokyo", "given"),  # given wins, spelt canonically
    ],
)
def test_time_zone_is_given_else_the_numbers_own_else_the_default(number, given, zone, source):
    assert resolve_time_zone(number, given, "America/Chicago") == (zone, source)


def test_an_unknown_time_zone_is_invalid_input():
    with pytest.raises(InvalidInput) as info:
        contact_data({"number": "+31612345678", "time_zone": "Europe/Atlantis"}, region="NL")
    assert info.value.field == "time_zone"


def test_national_numbers_are_read_in_the_default_region():
    assert contact_data({"phone": "06 1234 5678"}, region="NL").number == "+31612345678"
    assert contact_data({"number": "030 123 4567"}, region="NL").number == "+31301234567"


# --- import ---------------------------------------------------------------------------------

CSV = """number;first_name;city;age;Bad Name
0612345601;Anna;Utrecht;42;
+4915112345678;Bob;Berlin;29;
not a number;Carl;Gent;50;
+31612345603;Dora;Zwolle;;oops
;Eve;Delft;31;
+61412345678;Finn;Perth;x;
"""


def test_import_reports_bad_rows_by_number_and_imports_the_rest(s):
    result = _import(s, CSV)
    s.commit()
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert [(e.row, e.field) for e in result.errors] == [(3, "number"), (4, "fields.bad name"), (5, "number")]
    by_number = {c.number: c for c in s.exec(select(Contact))}
    assert set(by_number) == {"+31612345601", "+4915112345678", "+61412345678"}
    anna = by_number["+31612345601"]
    assert (anna.first_name, anna.custom_fields, anna.time_zone) == (
        "Anna",
        {"city": "Utrecht", "age": "42"},
        "Europe/Amsterdam",
    )
    assert by_number["+61412345678"].time_zone == "America/Chicago"


def test_importing_the_same_file_twice_changes_nothing_and_an_update_merges(s):
    _import(s, CSV)
    again = _import(s, CSV)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    update = _import(s, "phone,last_name,time_zone,vip\n06-12345601,Jansen,Europe/London,yes\n")
    assert (update.created, update.updated) == (0, 1)
    s.commit()
    anna = contacts.find_contact(s, "+31612345601")
    assert anna is not None
    assert (anna.first_name, anna.last_name, anna.time_zone, anna.time_zone_source) == (
        "Anna",
        "Jansen",
        "Europe/London",
        "given",
    )
    assert anna.custom_fields == {"city": "Utrecht", "age": "42", "vip": "yes"}
    assert s.exec(select(Contact)).all().__len__() == 3


def test_import_puts_contacts_on_lists_and_records_consent_once(s):
    members = contacts.create_list(s, "members", now=T0)
    proof = ConsentProof("web_form", "Yes, send me offers", "192.0.2.1")
    _import(s, CSV, list_ids=[members.id], opt_in=proof)
    _import(s, CSV, list_ids=[members.id], opt_in=proof)
    s.commit()
    assert contacts.list_size(s, members.id) == 3
    ledger = s.exec(select(ConsentRecord)).all()
    assert len(ledger) == 3 and {r.kind for r in ledger} == {"opt_in"} and {r.ip for r in ledger} == {"192.0.2.1"}


def test_json_rows_take_nested_fields_and_report_non_objects(s):
    result = import_contacts(
        s,
        [
            {"number": "+31612345610", "fields": {"score": 7.5, "active": True}},
            "not an object",
            {"number": 31612345611},
        ],
        region="NL",
        default_time_zone="UTC",
        now=T0,
    )
    assert result.created == 2 and [(e.row, e.field) for e in result.errors] == [(2, "row")]
    assert contacts.find_contact(s, "+31612345610").custom_fields == {"score": 7.5, "active": True}


def test_a_csv_without_a_number_column_is_refused_whole():
    with pytest.raises(InvalidInput, match="number column"):
        read_csv("name,city\nAnna,Utrecht\n")


def test_a_second_contact_with_the_same_number_is_a_conflict(s):
    data = contact_data({"number": "+31612345601"}, region="NL")
    first = contacts.create_contact(s, data, now=T0, default_time_zone="UTC")
    with pytest.raises(AlreadyExists) as info:
        contacts.create_contact(s, contact_data({"number": "0612345601"}, region="NL"), now=T0, default_time_zone="UTC")
    assert info.value.existing_id == first.id


def test_update_merges_fields_removes_with_none_and_rederives_the_zone(s):
    data = contact_data({"number": "+31612345601", "time_zone": "Asia/Tokyo", "city": "Utrecht", "age": 3}, region="NL")
    c = contacts.create_contact(s, data, now=T0, default_time_zone="UTC")
    changed = contacts.update_contact(
        s, c.id, {"fields": {"age": None, "vip": True}, "time_zone": None}, region="NL", now=T0, default_time_zone="UTC"
    )
    assert changed.custom_fields == {"city": "Utrecht", "vip": True}
    assert (changed.time_zone, changed.time_zone_source) == ("Europe/Amsterdam", "number")
    moved = contacts.update_contact(s, c.id, {"number": "+4915112345678"}, region="NL", now=T0, default_time_zone="UTC")
    assert moved.time_zone == "Europe/Berlin"


# --- segments and audiences -----------------------------------------------------------------


@pytest.fixture
def people(s):
    rows = [
        {"number": "+31612345601", "first_name": "Anna", "city": "Utrecht", "age": "42"},  # CSV-style text
        {"number": "+31612345602", "first_name": "anneke", "city": "utrecht", "age": 19, "vip": True},
        {"number": "+31612345603", "first_name": "Bob", "city": "Zwolle", "age": 65.5, "vip": False},
        {"number": "+4915112345678", "first_name": "Carla"},
    ]
    import_contacts(s, rows, region="NL", default_time_zone="UTC", now=T0)
    s.commit()
    return rows


def test_text_conditions_ignore_case_and_ne_includes_contacts_without_the_field(s, people):
    assert _numbers(s, {"all": [{"field": "fields.city", "op": "eq", "value": "UTRECHT"}]}) == [
        "+31612345601",
        "+31612345602",
    ]
    assert _numbers(s, {"all": [{"field": "fields.city", "op": "ne", "value": "utrecht"}]}) == [
        "+31612345603",
        "+4915112345678",
    ]
    assert _numbers(s, {"all": [{"field": "first_name", "op": "starts_with", "value": "an"}]}) == [
        "+31612345601",
        "+31612345602",
    ]
    assert _numbers(s, {"all": [{"field": "fields.city", "op": "missing"}]}) == ["+4915112345678"]


def test_number_conditions_compare_numbers_also_when_imported_as_text(s, people):
    assert _numbers(s, {"all": [{"field": "fields.age", "op": "gt", "value": 20}]}) == ["+31612345601", "+31612345603"]
    assert _numbers(s, {"all": [{"field": "fields.age", "op": "in", "value": [19, 42]}]}) == [
        "+31612345601",
        "+31612345602",
    ]
    assert _numbers(s, {"all": [{"field": "fields.vip", "op": "eq", "value": True}]}) == ["+31612345602"]


def test_groups_nest_and_lists_can_be_conditions(s, people):
    staff = contacts.create_list(s, "staff", now=T0)
    contacts.add_members(s, staff.id, [contacts.find_contact(s, "+31612345603").id], now=T0)
    rules = {
        "any": [
            {"all": [{"field": "number", "op": "starts_with", "value": "+49"}]},
            {"all": [{"field": "fields.vip", "op": "exists"}, {"field": "list", "op": "not_in", "value": [staff.id]}]},
        ]
    }
    assert _numbers(s, rules) == ["+31612345602", "+4915112345678"]


@pytest.mark.parametrize(
    "rules",
    [
        {"all": [{"field": "fields.x y", "op": "eq", "value": 1}]},
        {"all": [{"field": "fields.a", "op": "like", "value": 1}]},
        {"all": [{"field": "created_at", "op": "gt", "value": "yesterday"}]},
        {"some": []},
        {"all": [{"field": "list", "op": "contains", "value": "x"}]},
        {"all": [{"all": [{"all": [{"all": [{"all": []}]}]}]}]},
    ],
)
def test_malformed_rules_are_invalid_input(rules):
    with pytest.raises(InvalidInput) as info:
        contacts.check_rules(rules)
    assert info.value.field.startswith("rules")


def test_an_audience_is_its_lists_and_segments_minus_its_exclude_lists(s, people):
    ids = {c.number: c.id for c in s.exec(select(Contact))}
    customers = contacts.create_list(s, "customers", now=T0)
    blocked = contacts.create_list(s, "competitors", kind="exclude", now=T0)
    contacts.add_members(s, customers.id, [ids["+31612345601"], ids["+31612345603"]], now=T0)
    contacts.add_members(s, blocked.id, [ids["+31612345603"], ids["+4915112345678"]], now=T0)
    germans = contacts.create_segment(
        s, "germans", {"all": [{"field": "number", "op": "starts_with", "value": "+49"}]}, now=T0
    )
    query = contacts.audience(s, lists=[customers.id], segments=[germans.id], exclude_lists=[blocked.id])
    assert list(s.exec(query)) == [ids["+31612345601"]]
    with pytest.raises(InvalidInput):
        contacts.audience(s, lists=[blocked.id])
