"""Who may do what in the console, checked over direct HTTP as a browser would send it:
sessions, CSRF, roles, the login throttle and redirects after login."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gateway.core.models import ApiKey, Message
from tests.console.conftest import PASSWORD, Console, csrf_of, login


def _messages(console: Console) -> int:
    with console.api.gateway.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Message)).scalar_one()


def test_pages_need_a_session_and_send_to_login_with_the_way_back(console: Console) -> None:
    client = console.client()
    response = client.get("/campaigns?cursor=x")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcampaigns%3Fcursor%3Dx"
    assert client.post("/messages/send", data={"to": "+31612345678", "text": "hi"}).status_code == 403


def test_login_sets_an_httponly_samesite_cookie_and_logout_ends_the_session(console: Console) -> None:
    client = console.client()
    response = login(client, "admin", PASSWORD, "/inbox")
    assert response.status_code == 303 and response.headers["location"] == "/inbox"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("mg_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    old = client.cookies["mg_session"]
    page = client.get("/")
    assert page.status_code == 200 and "sim1" in page.text and "sim2" in page.text
    assert client.post("/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
    again = console.client()
    again.cookies.set("mg_session", old)
    assert again.get("/").status_code == 303  # the session is revoked, not just forgotten by the browser


def test_cookies_are_secure_over_https(console: Console) -> None:
    client = console.client()
    client.base_url = client.base_url.copy_with(scheme="https")
    response = login(client, "admin", PASSWORD)
    assert response.status_code == 303
    assert all("Secure" in c for c in response.headers.get_list("set-cookie"))


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_next_never_leads_off_the_console(console: Console, target: str) -> None:
    response = login(console.client(), "viewer", PASSWORD, target)
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_a_form_without_its_csrf_token_is_refused(console: Console) -> None:
    client, token = console.signed_in("admin")
    before = _messages(console)
    for data in ({}, {"csrf": "wrong"}):
        response = client.post("/messages/send", data={"to": "+31612345678", "text": "hello", **data})
        assert response.status_code == 403 and "security token" in response.text
    assert _messages(console) == before
    assert client.post("/modems/sim1", data={"action": "disable"}).status_code == 403
    assert console.api.gateway.workers["sim1"].status.enabled
    ok = client.post("/messages/send", data={"to": "+31612345678", "text": "hello", "csrf": token})
    assert ok.status_code == 303 and _messages(console) == before + 1


def test_a_login_form_without_its_token_is_refused(console: Console) -> None:
    client = console.client()
    response = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 403 and "mg_session" not in response.cookies


def test_viewer_reads_but_is_refused_every_change_over_direct_post(console: Console) -> None:
    client, token = console.signed_in("viewer")
    for page in ("/", "/messages", "/inbox", "/contacts", "/campaigns"):
        assert client.get(page).status_code == 200, page
    assert client.get("/settings/keys").status_code == 403
    before = _messages(console)
    refused = {
        "/modems/sim1": {"action": "disable"},
        "/messages/send": {"to": "+31612345678", "text": "hello"},
        "/settings/keys": {"name": "sneaky", "scopes": "admin"},
        "/contacts/import": {"csv_text": "number\n+31612345678\n"},
        "/campaigns": {"name": "x", "template": "y"},
    }
    for path, data in refused.items():
        response = client.post(path, data={**data, "csrf": token})
        assert response.status_code == 403 and "scope" in response.text, path
    assert console.api.gateway.workers["sim1"].status.enabled
    assert _messages(console) == before
    with console.api.gateway.engine.connect() as conn:
        assert conn.execute(sa.select(ApiKey).where(ApiKey.name == "sneaky")).first() is None


def test_marketer_sends_and_runs_campaigns_but_does_not_change_modems(console: Console) -> None:
    client, token = console.signed_in("marketer")
    assert client.post("/modems/sim2", data={"action": "disable", "csrf": token}).status_code == 403
    assert console.api.gateway.workers["sim2"].status.enabled
    response = client.post("/messages/send", data={"to": "+31612345670", "text": "from marketing", "csrf": token})
    assert response.status_code == 303


def test_admin_changes_a_modem_rate_and_cap(console: Console) -> None:
    client, token = console.signed_in("admin")
    response = client.post(
        "/modems/sim2", data={"action": "pacing", "sends_per_minute": "30", "daily_cap": "250", "csrf": token}
    )
    assert response.status_code == 303
    pacing = console.api.gateway.workers["sim2"].pacing()
    assert (pacing.sends_per_minute, pacing.daily_cap) == (30, 250)
    bad = client.post("/modems/sim2", data={"action": "pacing", "sends_per_minute": "-1", "csrf": token})
    assert bad.status_code == 422 and "sends_per_minute" in bad.text
    client.post("/modems/sim2", data={"action": "pacing", "sends_per_minute": "600", "daily_cap": "0", "csrf": token})


def test_the_fifth_wrong_password_is_slowed_and_later_ones_more(console: Console) -> None:
    client = console.client()
    console.sleeps.seconds.clear()
    for _ in range(6):
        assert login(client, "marketer", "wrong password!").status_code == 401
    assert console.sleeps.seconds == [1.0, 2.0]  # nothing for the first four
    assert login(client, "marketer", "wrong password!").status_code == 401
    assert console.sleeps.seconds[-1] == 4.0
    # A right password (after its wait) clears the count.
    assert login(client, "marketer", PASSWORD).status_code == 303
    console.sleeps.seconds.clear()
    assert login(console.client(), "marketer", "wrong password!").status_code == 401
    assert console.sleeps.seconds == []


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(console: Console) -> None:
    wrong = login(console.client(), "admin", "not the password")
    unknown = login(console.client(), "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong user name or password" in wrong.text and "Wrong user name or password" in unknown.text
