"""Kannel-style dlr-url templates: escapes filled in and encoded, the mask's bits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.core.dlrurl import (
    BUFFERED,
    DELIVERED,
    REJECTED,
    SUBMITTED,
    UNDELIVERED,
    DlrEvent,
    escape_values,
    event_for_status,
    expand,
    wanted,
)

AT = datetime(2026, 12, 5, 8, 30, 15, tzinfo=UTC)


def _values(kind: int = DELIVERED, reply: str = "stat:DELIVRD") -> dict[str, str]:
    return escape_values(
        event=DlrEvent(kind, reply),
        recipient="+31612345678",
        sender="0031201234567",
        text="Hi & bye",
        modem="huawei-1",
        account="shop",
        message_id="4f02bd04-0000-4000-8000-000000000000",
        message_reference=17,
        at=AT,
    )


def test_escapes_are_replaced_and_url_encoded() -> None:
    url = expand("http://h/dlr?s=%d&to=%p&from=%P&q=%Q&smsc=%i&t=%T&a=%A&txt=%a&mr=%F", _values())
    assert url == (
        "http://h/dlr?s=1&to=%2B31612345678&from=0031201234567&q=%2B31201234567&smsc=huawei-1"
        f"&t={int(AT.timestamp())}&a=stat%3ADELIVRD&txt=Hi%20%26%20bye&mr=17"
    )


def test_unknown_escapes_and_encoded_characters_pass_unchanged() -> None:
    assert expand("http://h/x%2Fy?k=%k&p=100%%", _values()) == "http://h/x%2Fy?k=%k&p=100%"


@pytest.mark.parametrize(
    ("status", "sent_before", "kind"),
    [
        ("sent", True, SUBMITTED),
        ("delivered", True, DELIVERED),
        ("failed", True, UNDELIVERED),
        ("expired", True, UNDELIVERED),
        ("failed", False, REJECTED),
        ("expired", False, REJECTED),
        ("queued", False, None),
        ("sending", False, None),
        ("suppressed", False, None),
    ],
)
def test_each_status_stands_for_kannels_event(status: str, sent_before: bool, kind: int | None) -> None:
    event = event_for_status(status, sent_before=sent_before)
    assert (event.kind if event else None) == kind


def test_the_mask_selects_events() -> None:
    assert wanted(DELIVERED | UNDELIVERED, DlrEvent(DELIVERED, ""))
    assert not wanted(DELIVERED | UNDELIVERED, DlrEvent(SUBMITTED, ""))
    assert wanted(31, DlrEvent(BUFFERED, ""))
    assert not wanted(0, DlrEvent(DELIVERED, ""))
