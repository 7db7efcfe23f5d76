"""Review refuses what cannot work on a phone: short links to an address no phone can
open, and texts that come out blank. Test sends still go."""

from __future__ import annotations

import ipaddress

import pytest

from gateway import campaigns
from gateway.campaigns import links
from gateway.campaigns.lifecycle import WrongState
from gateway.core.db import session
from tests.support.campaigns import PUBLIC_URL, T0, Person, audience
from tests.support.dns import resolve

TEMPLATE = "Hi {{first_name|there}}, 20% off: https://shop.example/sale"


def review(engine, list_id: int, public_url: str, template: str = TEMPLATE, **fields: object):
    with session(engine, write=True) as s:
        data = {"name": "winter sale", "template": template, "lists": [list_id], **fields}
        row = campaigns.create(s, data, api_key_id=None, now=T0)
        result = campaigns.review(s, row.id, public_url=public_url, now=T0, resolver=resolve)
        status = campaigns.get(s, row.id).status
        s.commit()
        return row.id, result, status


@pytest.mark.parametrize(
    "public_url",
    [
        "http://127.0.0.1:8000",  # the default when served on loopback
        "http://[::1]:8000",
        "http://0.0.0.0:8000",
        "http://localhost:8000",
        "http://[::ffff:127.0.0.1]:8000",
        "https://nowhere.example",  # does not resolve
    ],
)
def test_review_refuses_short_links_no_phone_can_open(engine, public_url) -> None:
    list_id = audience(engine, [Person("+31610000091")])
    campaign_id, result, status = review(engine, list_id, public_url)
    assert [i.code for i in result.errors] == ["unreachable_links"], result.errors
    assert "public_url" in result.errors[0].message
    assert status == "draft"
    with session(engine, write=True) as s, pytest.raises(WrongState):
        campaigns.schedule(s, campaign_id, kind="now", now=T0)


def test_review_passes_links_to_a_public_name_and_warns_about_a_private_one(engine) -> None:
    list_id = audience(engine, [Person("+31610000092")])
    _, result, status = review(engine, list_id, PUBLIC_URL)
    assert (result.errors, status) == ([], "review")
    _, result, status = review(engine, list_id, "http://10.1.2.3:8000")
    assert result.errors == [] and [i.code for i in result.warnings] == ["unreachable_links"]


def test_review_of_a_campaign_without_links_ignores_public_url(engine) -> None:
    list_id = audience(engine, [Person("+31610000093")])
    _, result, status = review(engine, list_id, "http://127.0.0.1:8000", template="Hi {{first_name|there}}!")
    assert (result.errors, status) == ([], "review")


def test_a_test_send_goes_even_when_its_links_point_at_loopback(engine) -> None:
    list_id = audience(engine, [Person("+31610000094")])
    campaign_id, _, _ = review(engine, list_id, "http://127.0.0.1:8000")
    with session(engine, write=True) as s:
        sent = campaigns.test_send(
            s, campaign_id, ["+31610000095"], region="NL", public_url="http://127.0.0.1:8000",
            api_key_id=None, now=T0,
        )  # fmt: skip
        s.commit()
    assert len(sent) == 1 and "http://127.0.0.1:8000/r/" in sent[0].text


def test_review_refuses_a_template_that_comes_out_blank_for_some_recipients(engine) -> None:
    people = [Person("+31610000096", first_name="Anna"), Person("+31610000097", first_name=None)]
    list_id = audience(engine, people)
    _, result, status = review(engine, list_id, PUBLIC_URL, template="{{first_name}}", footer=None)
    assert [(i.code, i.count) for i in result.errors] == [("blank_text", 1)], result.errors
    assert status == "draft"


def test_unreachable_reads_every_spelling_of_loopback_and_unspecified() -> None:
    def answers(address: str) -> links.Resolver:
        return lambda host, port: [ipaddress.ip_address(address)]

    assert links.unreachable("https://sms.example.com", resolve) is None
    assert links.unreachable("http://2130706433:8000", resolve) is not None  # 127.0.0.1 as one number
    assert links.unreachable("http://rebound.example", answers("127.0.0.2"))[0] == "error"
    assert links.unreachable("http://rebound.example", answers("::"))[0] == "error"
    assert links.unreachable("http://lan.example", answers("192.168.1.5"))[0] == "warning"
    assert links.unreachable("http://gone.example", lambda host, port: [])[0] == "error"
