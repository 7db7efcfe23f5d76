"""Keyset paging: cursors round-trip, a forged one is InvalidInput on `cursor`, pages cut at limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.core import paging
from gateway.core.errors import InvalidInput

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def test_a_cursor_is_unpadded_base64_json_of_timestamp_and_id() -> None:
    cursor = paging.encode_cursor(T0, 42)
    assert "=" not in cursor
    assert paging.decode_cursor(cursor, int) == (T0, 42)


@pytest.mark.parametrize("cursor", ["nonsense", "W10", paging.encode_cursor(T0, "x")])
def test_a_forged_cursor_names_the_cursor_field(cursor: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        paging.decode_cursor(cursor, int)
    assert raised.value.field == "cursor" and raised.value.summary == "invalid"
    assert str(raised.value).startswith("cursor: not a cursor this API gave out")


def test_fetch_page_asks_one_row_more_and_points_after_the_last_row_it_keeps() -> None:
    rows = [(T0 - timedelta(seconds=i), i) for i in range(5)]
    asked: list[tuple[int, object]] = []

    def fetch(n: int, start: paging.Position | None) -> list[tuple[datetime, int]]:
        asked.append((n, start))
        return rows[:n]

    page = paging.fetch_page(None, 3, fetch, lambda row: row)
    assert asked == [(4, None)] and page.items == rows[:3]
    assert page.next_cursor is not None and paging.decode_cursor(page.next_cursor, int) == rows[2]
    last = paging.fetch_page(None, 5, fetch, lambda row: row)
    assert last.items == rows and last.next_cursor is None
