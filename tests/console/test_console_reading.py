"""What the console's pages read: conversations and unread counts, message filters with a
query count that does not grow with the page, the segment counter and the charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from api.console.charts import funnel_bars, series_lines
from api.console.messages import count_text
from gateway.automation import conversations
from gateway.core import accounts, overview, signin
from gateway.core.db import session
from gateway.core.models import ConsoleUser, InboundMessage, Message
from harness.querycount import counting_queries

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _inbound(s, sender: str, text: str, at: datetime) -> None:  # type: ignore[no-untyped-def]
    s.add(InboundMessage(modem_id="sim1", sender=sender, text=text, received_at=at, complete=True))


def _message(i: int, **fields: object) -> Message:
    at = T0 + timedelta(seconds=i)
    values: dict[str, object] = {
        "request_hash": "x", "recipient": f"+3161234{i:04d}", "text": f"m{i}", "encoding": "gsm7", "parts_total": 1,
        "next_attempt_at": at, "valid_until": at + timedelta(days=1), "created_at": at, "updated_at": at,
    }  # fmt: skip
    values.update(fields)
    return Message(**values)  # type: ignore[arg-type]


def test_threads_count_unread_replies_until_read(engine: Engine) -> None:
    with session(engine) as s:
        _inbound(s, "+31611111111", "first", T0)
        _inbound(s, "+31611111111", "second", T0 + timedelta(minutes=1))
        _inbound(s, "+31622222222", "other", T0 + timedelta(minutes=2))
        s.commit()
        got = {t.number: (t.unread, t.received, t.last_text) for t in overview.threads(s)}
        assert got == {"+31611111111": (2, 2, "second"), "+31622222222": (1, 1, "other")}
        assert [t.number for t in overview.threads(s)] == ["+31622222222", "+31611111111"]  # latest first
        conversations.mark_read(s, "+31611111111", now=T0 + timedelta(minutes=1))
        _inbound(s, "+31611111111", "third", T0 + timedelta(minutes=5))
        s.commit()
        got = {t.number: t.unread for t in overview.threads(s)}
        assert got == {"+31611111111": 1, "+31622222222": 1}
        assert overview.unread_total(s, now=T0 + timedelta(minutes=6)) == 2


def test_message_filters_and_paging_read_the_same_number_of_queries_for_any_page_size(engine: Engine) -> None:
    with session(engine) as s:
        for i in range(60):
            s.add(_message(i, status="delivered" if i % 2 else "failed", modem_id="sim1" if i % 3 else "sim2"))
        s.commit()
    counts = []
    for limit in (5, 25):
        with session(engine) as s, counting_queries(engine) as queries:
            page = overview.browse_messages(s, overview.MessageFilter(status="delivered"), cursor=None, limit=limit)
        assert len(page.items) == limit and all(m.status == "delivered" for m in page.items)
        counts.append(queries.count)
    assert counts[0] == counts[1]
    with session(engine) as s:
        seen: list[str] = []
        cursor = None
        while True:
            page = overview.browse_messages(s, overview.MessageFilter(modem="sim2"), cursor=cursor, limit=7)
            seen += [m.id for m in page.items]
            if not (cursor := page.next_cursor):
                break
        assert len(seen) == len(set(seen)) == 20
        day = overview.MessageFilter(since=T0, until=T0 + timedelta(seconds=10))
        assert len(overview.browse_messages(s, day, cursor=None, limit=50).items) == 10


def test_sessions_end_at_logout_and_after_their_lifetime(engine: Engine) -> None:
    with session(engine) as s:
        user = accounts.create_user(s, "olga", "a long enough secret", "viewer", now=T0)
        first = signin.start_session(s, user, now=T0)
        second = signin.start_session(s, user, now=T0)
        s.commit()
        assert signin.session_of(s, first.token, now=T0 + timedelta(hours=1)) is not None
        assert signin.session_of(s, first.token, now=T0 + signin.SESSION_LIFETIME) is None
        signin.end_session(s, second.token, now=T0)
        s.commit()
        assert signin.session_of(s, second.token, now=T0) is None
        assert signin.session_of(s, "not-a-token", now=T0) is None
        user.disabled_at = T0
        s.add(user)
        s.commit()
        assert signin.session_of(s, first.token, now=T0) is None
        assert s.execute(sa.select(sa.func.count()).select_from(ConsoleUser)).scalar_one() == 1


def test_the_throttle_waits_longer_after_the_fourth_failure_and_forgets_on_success() -> None:
    throttle = signin.LoginThrottle(lambda: 0.0)
    delays = [throttle.attempt("Olga", "10.0.0.1") for _ in range(10)]
    assert delays == [0, 0, 0, 0, 1, 2, 4, 8, 16, 30]
    assert throttle.attempt("olga", "10.0.0.2") == 0  # another address is not held back
    throttle.succeeded("olga", "10.0.0.1")
    assert throttle.attempt("olga", "10.0.0.1") == 0


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "forcing"),
    [
        ("Hello {world} €", "gsm7", 1, []),
        ("Zażółć", "ucs2", 1, ["ż", "ó", "ł", "ć"]),
        ("Price — 5€ 😀", "ucs2", 1, ["—", "😀"]),
        ("x" * 161, "gsm7", 2, []),
    ],
)
def test_the_counter_names_the_characters_that_force_ucs2(
    text: str, encoding: str, segments: int, forcing: list[str]
) -> None:
    got = count_text(text)
    assert (got["estimate"].encoding, got["estimate"].segments) == (encoding, segments)
    assert [c for c, _ in got["forcing"]] == forcing


def test_the_counter_counts_what_the_sms_settings_would_send() -> None:
    text = "Sayın müşterimiz, siparişiniz yola çıktı. " * 4  # Turkish: UCS-2 unless the table is allowed
    plain = count_text(text)
    assert plain["estimate"].encoding == "ucs2" and "ş" in [c for c, _ in plain["forcing"]]
    turkish = count_text(text, languages=["tr"])
    assert turkish["estimate"].encoding == "gsm7" and turkish["forcing"] == []
    assert turkish["estimate"].segments < plain["estimate"].segments
    quotes = count_text("It’s “here” … " * 12, transliterate=True)
    assert quotes["estimate"].encoding == "gsm7" and quotes["forcing"] == []


def test_funnel_bars_scale_to_the_widest_and_series_span_the_hours() -> None:
    bars = funnel_bars({"audience": 200, "sent": 100, "delivered": 50, "unique_clicks": 0})
    assert [(b.label, b.value, b.width) for b in bars[:4]] == [
        ("Audience", 200, 100.0), ("Sent", 100, 50.0), ("Delivered", 50, 25.0), ("Clicked", 0, 0.0),
    ]  # fmt: skip
    lines, hours = series_lines(
        [{"hour": "2026-12-01T09:00:00+00:00", "sent": 4, "clicks": 1}, {"hour": "2026-12-01T10:00:00+00:00", "sent": 2, "clicks": 0}],
        width=100, height=10,
    )  # fmt: skip
    assert hours == ["09:00", "10:00"]
    assert lines[0].points == "0.0,0.0 100.0,5.0" and lines[0].total == 6
    assert lines[1].points == "0.0,7.5 100.0,10.0"


def test_passwords_hash_with_scrypt_and_a_fresh_salt() -> None:
    a, b = accounts.hash_password("same password"), accounts.hash_password("same password")
    assert a != b and a.startswith("scrypt$16384$8$1$")
    assert accounts.verify_password("same password", a) and not accounts.verify_password("other password", a)
    assert not accounts.verify_password("same password", None)
    assert not accounts.verify_password("same password", "garbage")
