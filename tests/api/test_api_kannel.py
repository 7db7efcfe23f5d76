"""Kannel's sendsms interface: the user guide's kinds of request give Kannel's answers, and
the dlr-url is fetched (GET) with its escapes filled in, as Kannel does."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest

from drivers.sms import decode_pdu
from gateway.core import outbox
from gateway.core.db import session
from tests.support.api import Api, message_count
from tests.support.receiver import Inbox, receiving


@pytest.fixture(scope="module")
def inbox() -> Inbox:
    with receiving() as box:
        yield box


def _messages(api: Api) -> list[dict]:
    return api.every("/v1/messages")


def test_get_with_username_and_password_is_accepted_and_delivered(shared_api: Api) -> None:
    # The guide's first example: username, password, to and text in the query string.
    before = {m["id"] for m in _messages(shared_api)}
    response = shared_api.client.get(
        f"/cgi-bin/sendsms?username=tests&password={shared_api.key}&to=0612345678&text=Hello+world"
    )
    assert (response.status_code, response.text) == (202, "0: Accepted for delivery")
    assert response.headers["content-type"].startswith("text/html")
    new = [m for m in _messages(shared_api) if m["id"] not in before]
    assert [(m["to"], m["text"]) for m in new] == [("+31612345678", "Hello world")]
    shared_api.wait_delivered(new[0]["id"])


def test_several_receivers_separated_by_spaces_each_get_the_message(shared_api: Api) -> None:
    before = {m["id"] for m in _messages(shared_api)}
    query = urlencode({"user": "tests", "pass": shared_api.key, "to": "+31611111111 +31622222222", "text": "hi"})
    response = shared_api.client.get(f"/cgi-bin/sendsms?{query}")
    assert response.status_code == 202, response.text
    new = [m for m in _messages(shared_api) if m["id"] not in before]
    assert sorted(m["to"] for m in new) == ["+31611111111", "+31622222222"]


def test_post_form_as_a_php_client_sends_it(shared_api: Api) -> None:
    # http_build_query + a form POST, UTF-8 text without a charset: read as UTF-8.
    body = urlencode({"username": "tests", "password": shared_api.key, "to": "+31633333333", "text": "Grüße €5"})
    response = shared_api.client.post(
        "/cgi-bin/sendsms", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (response.status_code, response.text) == (202, "0: Accepted for delivery")
    sent = shared_api.every("/v1/messages", to="+31633333333")
    assert [m["text"] for m in sent] == ["Grüße €5"]


def test_coding_2_without_charset_reads_utf16be(shared_api: Api) -> None:
    text = quote("Привет".encode("utf-16-be"))
    response = shared_api.client.get(
        f"/cgi-bin/sendsms?username=tests&password={shared_api.key}&to=%2B31644444444&coding=2&text={text}"
    )
    assert response.status_code == 202, response.text
    [message] = shared_api.every("/v1/messages", to="+31644444444")
    assert (message["text"], message["encoding"]) == ("Привет", "ucs2")


def test_latin1_charset_is_honoured(shared_api: Api) -> None:
    text = quote("café".encode("iso-8859-1"))
    response = shared_api.client.get(
        f"/cgi-bin/sendsms?username=tests&password={shared_api.key}&to=%2B31655555555&charset=ISO-8859-1&text={text}"
    )
    assert response.status_code == 202, response.text
    assert [m["text"] for m in shared_api.every("/v1/messages", to="+31655555555")] == ["café"]


@pytest.mark.parametrize(
    ("query", "status", "text"),
    [
        ("username=tests&password=mg_00000000_wrong&to=0612345678&text=x", 403, "Authorization failed for sendsms"),
        ("username=someone-else&password={key}&to=0612345678&text=x", 403, "Authorization failed for sendsms"),
        ("username=tests&to=0612345678&text=x", 403, "Authorization failed for sendsms"),
        ("username=tests&password={key}&text=x", 400, "Missing receiver number"),
        ("username=tests&password={key}&to=0612345678&text=", 400, "Missing text"),
        ("username=tests&password={key}&to=0612345678&text=x&udh=%06%05%04", 400, None),
        ("username=tests&password={key}&to=0612345678&text=x&coding=1", 400, None),
        ("username=tests&password={key}&to=0612345678&text=x&dlr-mask=31", 400, "dlr-mask given without dlr-url"),
        ("username=tests&password={key}&to=0612345678+notanumber&text=x", 400, None),
        ("username=tests&password={key}&to=0612345678&text=x&dlr-mask=1&dlr-url=http%3A%2F%2F10.0.0.1%2F", 400, None),
    ],
)
def test_refusals_give_kannels_status_and_text_and_store_nothing(
    shared_api: Api, query: str, status: int, text: str | None
) -> None:
    before = message_count(shared_api)
    response = shared_api.client.get("/cgi-bin/sendsms?" + query.format(key=shared_api.key))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    if text is not None:
        assert response.text == text
    else:
        assert response.text and not response.text.startswith("{")
    assert message_count(shared_api) == before


def test_a_key_without_the_send_scope_is_refused(shared_api: Api) -> None:
    key, _ = shared_api.new_key("marketer", ["marketing"])
    response = shared_api.client.get(f"/cgi-bin/sendsms?username=marketer&password={key}&to=0612345678&text=x")
    assert (response.status_code, response.text) == (403, "Authorization failed for sendsms")


def test_dlr_url_is_fetched_with_escapes_for_each_event_of_the_mask(shared_api: Api, inbox: Inbox) -> None:
    # The guide's pattern: a urlencoded dlr-url whose query carries %d and friends.
    template = f"{inbox.url}?id=42&type=%d&to=%p&from=%P&smsc=%i&time=%T&answer=%A&user=%n"
    query = urlencode(
        {
            "username": "tests",
            "password": shared_api.key,
            "to": "+31666666666",
            "from": "Shop",
            "text": "Your order shipped",
            "dlr-mask": "31",
            "dlr-url": template,
        }
    )
    response = shared_api.client.get(f"/cgi-bin/sendsms?{query}")
    assert response.status_code == 202, response.text
    [queued] = shared_api.every("/v1/messages", to="+31666666666")
    message = shared_api.wait_delivered(queued["id"])
    fetched = [inbox.next(), inbox.next()]
    assert {f.method for f in fetched} == {"GET"}
    reports = sorted((parse_qs(urlsplit(f.path).query) for f in fetched), key=lambda r: -int(r["type"][0]))
    assert [r["type"] for r in reports] == [["8"], ["1"]]  # submitted to the SMSC, and delivered
    for r in reports:
        assert r["id"] == ["42"]
        assert r["to"] == ["+31666666666"]
        assert r["from"] == ["Shop"]
        assert r["smsc"] == [message["modem"]]
        assert r["user"] == ["tests"]
        assert int(r["time"][0]) > 1_700_000_000
    assert reports[0]["answer"] == ["ACK/"]
    assert reports[1]["answer"] == ["stat:DELIVRD"]


def test_dlr_mask_picks_the_events(shared_api: Api, inbox: Inbox) -> None:
    query = urlencode(
        {
            "username": "tests",
            "password": shared_api.key,
            "to": "+31687777777",
            "text": "only the final state",
            "dlr-mask": "3",
            "dlr-url": f"{inbox.url}?state=%d&msg=%I",
        }
    )
    response = shared_api.client.get(f"/cgi-bin/sendsms?{query}")
    assert response.status_code == 202, response.text
    [message] = shared_api.every("/v1/messages", to="+31687777777")
    shared_api.wait_delivered(message["id"])
    report = parse_qs(urlsplit(inbox.next().path).query)
    assert report == {"state": ["1"], "msg": [message["id"]]}
    with pytest.raises(AssertionError, match="nothing posted"):
        inbox.next(timeout=0.3)  # not the submit (8): the mask asked for 1 and 2 only


@pytest.mark.parametrize(
    ("faults", "events"),
    [
        ({"cms_error": 1, "cms_error_count": 1}, [("16", "NACK/")]),  # the SMSC refuses it: unallocated number
        ({"report": "permanent"}, [("8", "ACK/"), ("2", "stat:UNDELIV")]),  # taken, then not delivered
        ({"report": "temporary"}, [("8", "ACK/"), ("4", "stat:ENROUTE")]),  # taken, the SMSC still trying
    ],
)
def test_failures_and_buffering_are_reported_with_kannels_values(
    api: Api, inbox: Inbox, faults: dict, events: list[tuple[str, str]]
) -> None:
    assert api.post("/v1/simulator/faults", json={"modem": "sim1", **faults}).status_code == 200
    query = urlencode(
        {
            "username": "tests",
            "password": api.key,
            "to": "+31612345678",
            "text": "x",
            "smsc": "sim1",
            "dlr-mask": "31",
            "dlr-url": f"{inbox.url}?type=%d&answer=%A",
        }
    )
    response = api.client.get(f"/cgi-bin/sendsms?{query}")
    assert response.status_code == 202, response.text
    got = [parse_qs(urlsplit(inbox.next().path).query) for _ in events]
    # Fetched a few at a time, like webhooks: in any order.
    seen = {(g["type"][0], g["answer"][0]) for g in got}
    assert len(seen) == len(events)
    for kind, answer in events:
        assert any(k == kind and a.startswith(answer) for k, a in seen), (kind, seen)


def test_storage_that_cannot_take_the_message_answers_temporal_failure(
    api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    import sqlite3

    from gateway.core import db

    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)
    api.gateway.engine.dispose()
    other = sqlite3.connect(tmp_path / "modemgate.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        response = api.client.get(f"/cgi-bin/sendsms?username=tests&password={api.key}&to=0612345678&text=x")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert (response.status_code, response.text) == (503, "Temporal failure, try again later.")


@pytest.mark.parametrize(("query", "expected"), [("mclass=0", 0), ("mclass=1", 1), ("flash=1", 0), ("", None)])
def test_mclass_and_flash_set_the_message_class_of_every_part(shared_api: Api, query: str, expected) -> None:
    to = "+3161700000" + str(len(query) % 10)
    before = {m["id"] for m in shared_api.every("/v1/messages", to=to)}
    text = quote("Flash sale ends at noon! " * 8)  # two parts
    response = shared_api.client.get(
        f"/cgi-bin/sendsms?username=tests&password={shared_api.key}&to={to}&text={text}&{query}"
    )
    assert response.status_code == 202, response.text
    [new] = [m for m in shared_api.every("/v1/messages", to=to) if m["id"] not in before]
    with session(shared_api.gateway.engine) as s:
        parts = outbox.message_parts(s, new["id"])
    assert len(parts) == 2 and {decode_pdu(p.pdu).message_class for p in parts} == {expected}
    shared_api.wait_delivered(new["id"])  # the simulated network takes every class


def test_an_mclass_outside_0_to_3_is_refused(shared_api: Api) -> None:
    before = message_count(shared_api)
    response = shared_api.client.get(
        f"/cgi-bin/sendsms?username=tests&password={shared_api.key}&to=0612345678&text=x&mclass=4"
    )
    assert (response.status_code, response.text) == (400, "Invalid mclass: 4 is outside 0..3")
    assert message_count(shared_api) == before
