"""Number quality: campaigns go to mobiles; fixed lines and service numbers are left out at
review (with the reason) and at expansion, unless the campaign includes them."""

from __future__ import annotations

import sqlalchemy as sa

from gateway import campaigns
from gateway.audience import contacts
from gateway.audience.numbertype import number_type
from gateway.core.db import session
from gateway.core.models import Campaign, Message
from tests.support.campaigns import PUBLIC_URL, T0, Person, audience
from tests.support.dns import resolve

MOBILE, LANDLINE, PREMIUM, US = "+31612345678", "+31201234567", "+31900123456", "+12015550123"


class _Settings:
    public_url = PUBLIC_URL


def _send(engine, **fields: object):
    list_id = audience(engine, [Person(n) for n in (MOBILE, LANDLINE, PREMIUM, US)])
    with session(engine, write=True) as s:
        data = {"name": "sale", "template": "20% off today", "lists": [list_id], **fields}
        row = campaigns.create(s, data, api_key_id=None, now=T0)
        result = campaigns.review(s, row.id, public_url=PUBLIC_URL, now=T0, resolver=resolve)
        campaigns.schedule(s, row.id, kind="now", now=T0)
        s.commit()
        campaign_id = row.id
    campaigns.run_due(engine, now=T0, settings=_Settings())
    with engine.connect() as conn:
        sent = set(conn.execute(sa.select(Message.recipient).where(Message.campaign_id == campaign_id)).scalars())
        stored = conn.execute(sa.select(Campaign.non_mobile, Campaign.invalid_numbers)).one()
    return result, sent, tuple(stored)


def test_number_types_come_from_the_numbering_plan() -> None:
    assert [number_type(n) for n in (MOBILE, LANDLINE, PREMIUM, US, "+31800123456")] == [
        "mobile",
        "fixed_line",
        "premium_rate",
        "fixed_line_or_mobile",  # the North American plan cannot tell: it counts as mobile
        "toll_free",
    ]


def test_landlines_and_premium_numbers_are_left_out_with_the_reason(sqlite_engine) -> None:
    result, sent, stored = _send(sqlite_engine)
    assert (result.sendable, result.non_mobile, result.non_mobile_types) == (
        2,
        2,
        {"fixed_line": 1, "premium_rate": 1},
    )
    (warning,) = [w for w in result.warnings if w.code == "non_mobile"]
    assert "fixed line 1" in warning.message and "premium rate 1" in warning.message
    assert "include_non_mobile" in warning.message
    assert sent == {MOBILE, US}
    assert stored == (2, 0)  # counted as non-mobile, not as invalid numbers


def test_a_campaign_can_include_non_mobile_numbers(sqlite_engine) -> None:
    result, sent, stored = _send(sqlite_engine, include_non_mobile=True)
    assert (result.sendable, result.non_mobile) == (4, 0)
    assert sent == {MOBILE, LANDLINE, PREMIUM, US}
    assert stored == (0, 0)


def test_import_reports_the_line_types(sqlite_engine) -> None:
    rows = [{"number": n} for n in (MOBILE, LANDLINE, "+31612345679")]
    with session(sqlite_engine, write=True) as s:
        result = contacts.import_contacts(s, rows, region="NL", default_time_zone="UTC", now=T0)
        s.commit()
    assert result.number_types == {"mobile": 2, "fixed_line": 1}
