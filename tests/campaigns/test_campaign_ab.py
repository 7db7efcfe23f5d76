"""A/B campaigns in the gateway's own time: no template needed, one assignment per contact that
preview, test send and expansion share, a test share that waits for the clock and sends the
winner to the rest, a winner chosen by hand; attribution by click id and order id; UTM and link
domains per campaign."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from gateway import campaigns
from gateway.campaigns import analytics, links
from gateway.core.db import session
from gateway.core.errors import InvalidInput
from gateway.core.models import Link, ListMembership, Message
from gateway.core.settings import CampaignSettings
from tests.support.campaigns import PUBLIC_URL, SETTINGS, T0, Person, audience, drain, start
from tests.support.dns import resolve

VARIANTS = [
    {"name": "A", "template": "A for {{first_name|you}}: https://shop.example/a", "weight": 1},
    {"name": "B", "template": "B for {{first_name|you}}: https://shop.example/b", "weight": 3},
]


def _texts(engine: Any, campaign_id: int) -> dict[int, tuple[str, int | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Message.contact_id, Message.text, Message.variant_id).where(Message.campaign_id == campaign_id)
        ).all()
    return {c: (t, v) for c, t, v in rows}


def _contact_ids(engine: Any) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT id FROM contact ORDER BY id")).scalars())


def _masked(text: str) -> str:
    head, _, tail = text.partition("/r/")
    return head + "/r/" + "x" * 10 + tail[10:] if tail else text


def test_preview_test_send_and_send_agree_on_each_contacts_variant(engine) -> None:
    list_id = audience(engine, [Person(f"+3161200{i:04d}", first_name=f"P{i}") for i in range(40)])
    with session(engine, write=True) as s:
        row = campaigns.create(s, {"name": "ab", "variants": VARIANTS, "lists": [list_id]}, api_key_id=None, now=T0)
        assert row.template == ""  # an A/B campaign needs no template of its own
        assert not campaigns.review(s, row.id, public_url=PUBLIC_URL, now=T0, resolver=resolve).errors
        previews = {c: campaigns.preview(s, row.id, c, public_url=PUBLIC_URL) for c in _contact_ids(engine)}
        someone = next(c for c, p in previews.items() if p.variant == "B")
        proof = campaigns.test_send(s, row.id, ["+31612345678"], region="NL", public_url=PUBLIC_URL,
                                    api_key_id=None, now=T0, contact_id=someone)  # fmt: skip
        chosen = campaigns.test_send(s, row.id, ["+31612345678"], region="NL", public_url=PUBLIC_URL,
                                     api_key_id=None, now=T0, contact_id=someone, variant="A")  # fmt: skip
        assert _masked(proof[0].text) == previews[someone].text  # the proof is what the contact gets
        assert chosen[0].text.startswith("A for")
        with pytest.raises(InvalidInput):
            campaigns.test_send(s, row.id, ["+31612345678"], region="NL", public_url=PUBLIC_URL, api_key_id=None,
                                now=T0, variant="C")  # fmt: skip
        campaigns.schedule(s, row.id, kind="now", now=T0)
        s.commit()
        campaign_id = row.id
    campaigns.run_due(engine, now=T0, settings=SETTINGS)
    sent = _texts(engine, campaign_id)
    assert [p.variant for p in previews.values()].count("B") == 30  # weights 1:3, exactly
    with session(engine) as s:
        for contact_id, preview in previews.items():
            assert preview.text == _masked(sent[contact_id][0])  # before: a placeholder code
            after = campaigns.preview(s, campaign_id, contact_id, public_url=PUBLIC_URL)
            assert after.text == sent[contact_id][0]  # after: the contact's own short link


def test_a_contact_joining_after_review_keeps_the_variant_its_preview_showed(sqlite_engine) -> None:
    engine = sqlite_engine  # the queries are the ones the other tests run on both databases
    list_id = audience(engine, [Person(f"+3161250{i:04d}") for i in range(10)])
    with session(engine, write=True) as s:
        row = campaigns.create(s, {"name": "ab", "variants": VARIANTS, "lists": [list_id]}, api_key_id=None, now=T0)
        first = _contact_ids(engine)[0]
        early = campaigns.preview(s, row.id, first, public_url=PUBLIC_URL)
        assert early.variant is None and early.pending == "variants are assigned at review"
        campaigns.review(s, row.id, public_url=PUBLIC_URL, now=T0, resolver=resolve)
        s.commit()
    audience(engine, [Person(f"+3161251{i:04d}") for i in range(30)], list_name="later")
    with session(engine, write=True) as s:
        contacts = _contact_ids(engine)[10:]
        s.execute(sa.insert(ListMembership), [{"list_id": list_id, "contact_id": c, "added_at": T0} for c in contacts])
        shown = {c: campaigns.preview(s, row.id, c, public_url=PUBLIC_URL).variant for c in contacts}
        campaigns.update(s, row.id, {"name": "ab again"}, now=T0)  # back to draft: review again
        campaigns.review(s, row.id, public_url=PUBLIC_URL, now=T0, resolver=resolve)
        s.commit()
        again = {c: campaigns.preview(s, row.id, c, public_url=PUBLIC_URL).variant for c in contacts}
    assert again == shown and set(shown.values()) == {"A", "B"}


def test_test_share_waits_for_the_clock_then_sends_the_winner_to_the_rest(engine) -> None:
    list_id = audience(engine, [Person(f"+3161300{i:04d}") for i in range(50)])
    variants = [dict(v, weight=1) for v in VARIANTS]
    campaign_id = start(engine, list_id=list_id, template="", variants=variants, test_share=20, ab_wait_minutes=60)
    first = _texts(engine, campaign_id)
    assert len(first) == 10 and sorted(t[:1] for t, _ in first.values()) == ["A"] * 5 + ["B"] * 5
    drain(engine, now=T0)
    with engine.connect() as conn:
        codes = dict(
            conn.execute(sa.select(Link.code, Message.text).join(Message, Message.id == Link.message_id)).all()
        )
    with session(engine, write=True) as s:
        for code, text in codes.items():
            if text.startswith("B"):
                links.follow(s, code, now=T0 + timedelta(minutes=5))
        s.commit()
    assert campaigns.run_due(engine, now=T0 + timedelta(minutes=59), settings=None) == 0  # still waiting
    assert campaigns.run_due(engine, now=T0 + timedelta(minutes=60), settings=None) == 40
    after = _texts(engine, campaign_id)
    rest = [t for c, (t, _) in after.items() if c not in first]
    assert len(rest) == 40 and all(t.startswith("B for") for t in rest)
    with session(engine) as s:
        report = analytics.campaign_report(s, campaign_id)
    assert report["ab"]["winner"] == "B" and report["ab"]["decision"]["metric"] == "click"
    assert [(a["variant"], a["n"], a["successes"]) for a in report["ab"]["arms"]] == [("A", 5, 0), ("B", 5, 5)]


def test_a_winner_chosen_by_hand_goes_to_the_rest_without_waiting(sqlite_engine) -> None:
    engine = sqlite_engine  # the queries are the ones the other tests run on both databases
    list_id = audience(engine, [Person(f"+3161400{i:04d}") for i in range(20)])
    variants = [dict(v, weight=1) for v in VARIANTS]
    campaign_id = start(engine, list_id=list_id, template="", variants=variants, test_share=50, ab_wait_minutes=600)
    drain(engine, now=T0)
    with session(engine, write=True) as s:
        with pytest.raises(InvalidInput):
            campaigns.choose_winner(s, campaign_id, "C", now=T0)
        campaigns.choose_winner(s, campaign_id, "A", now=T0)
        s.commit()
    assert campaigns.run_due(engine, now=T0 + timedelta(minutes=1), settings=None) == 10
    texts = [t for t, _ in _texts(engine, campaign_id).values()]
    assert sum(t.startswith("A for") for t in texts) == 15  # 5 in the test, 10 in the rest
    with session(engine) as s:
        assert campaigns.get(s, campaign_id).ab_decision["manual"] is True  # type: ignore[index]


def test_conversions_count_once_per_order_and_never_from_a_test_send(engine) -> None:
    list_id = audience(engine, [Person("+31615000001"), Person("+31615000002")])
    campaign_id = start(engine, list_id=list_id, template="", variants=VARIANTS)
    drain(engine, now=T0)
    with engine.connect() as conn:
        real = conn.execute(sa.select(Link.code, Link.variant_id)).all()
    with session(engine, write=True) as s:
        (proof,) = campaigns.test_send(s, campaign_id, ["+31612345678"], region="NL", public_url=PUBLIC_URL,
                                       api_key_id=None, now=T0)  # fmt: skip
        test_code = s.exec(sa.select(Link.code).where(Link.message_id == proof.id)).scalar_one()  # type: ignore[call-overload]
        landing = links.follow(s, real[0][0], now=T0, parameter="ref")
        click_id = landing.split("ref=")[1]
        links.record_conversion(s, click_id=click_id, order_id="1", value=10.0, now=T0)
        _, new = links.record_conversion(s, click_id=click_id, order_id="1", value=10.0, now=T0)
        assert not new
        with pytest.raises(links.OrderConflict):
            links.record_conversion(s, click_id=click_id, order_id="1", value=11.0, now=T0)
        test_landing = links.follow(s, test_code, now=T0)
        flagged, _ = links.record_conversion(s, click_id=test_landing.split("mg_click=")[1], order_id="2",
                                             value=500.0, now=T0)  # fmt: skip
        assert flagged.test
        links.record_conversion(s, code=real[1][0], order_id="3", value=2.5, now=T0)
        s.commit()
        report = analytics.campaign_report(s, campaign_id)
    assert (report["conversions"], report["revenue"], report["unique_clicks"]) == (2, 12.5, 1)
    assert sorted((v["conversions"], v["revenue"]) for v in report["variants"]) == [(1, 2.5), (1, 10.0)]
    assert report["conversion_rate"] == 1.0 and report["intervals"]["conversion_rate"][0] > 0.3


def test_utm_fields_and_a_brands_link_domain(sqlite_engine) -> None:
    engine = sqlite_engine  # the queries are the ones the other tests run on both databases
    list_id = audience(engine, [Person("+31616000001")])
    utm = {"medium": "text", "source": "crm", "term": "boots"}
    with session(engine, write=True) as s:
        row = campaigns.create(s, {"name": "Boots", "brand": "Acme", "lists": [list_id], "utm": utm,
                                   "template": "Boots: https://shop.example/b?utm_medium=old"},
                               api_key_id=None, now=T0)  # fmt: skip
        with pytest.raises(InvalidInput):
            campaigns.update(s, row.id, {"utm": {"medium": "x", "colour": "red"}}, now=T0)
        settings = CampaignSettings(link_domains={"Acme": "https://sms.example.com"})
        assert not campaigns.review(
            s, row.id, public_url=PUBLIC_URL, now=T0, settings=settings, resolver=resolve
        ).errors
        campaigns.schedule(s, row.id, kind="now", now=T0)
        s.commit()
    campaigns.run_due(engine, now=T0, settings=SimpleNamespace(public_url=PUBLIC_URL, campaigns=settings))
    with engine.connect() as conn:
        target = conn.execute(sa.select(Link.target)).scalar_one()
        text = conn.execute(sa.select(Message.text)).scalar_one()
    assert target == "https://shop.example/b?utm_source=crm&utm_medium=text&utm_campaign=boots&utm_term=boots"
    assert "https://sms.example.com/r/" in text
