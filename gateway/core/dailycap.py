"""A modem's daily cap: what it may still claim today, and when its next day starts.

A SIM plan's daily cap is a hard limit (the operator blocks the SIM past it), and a
multipart message is never cut: so a modem claims only a message whose unsent parts fit
in what is left of its day. A message that does not fit goes to another modem, or waits
for the next day. The day is the modem's, in its configured time zone (`[[modems]]
time_zone`): a plan that resets at midnight in Lagos resets then, not at midnight UTC.

Pure functions of the count, the cap and the time; the dispatcher and the outbox's claim
carry out what they say.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["claim_limit", "fits", "modem_day", "day_start", "until_next_day"]


def claim_limit(daily_cap: int, sent_today: int) -> int | None:
    """How many parts a message claimed now may have: None when there is no cap (0),
    0 when the cap is reached (claim nothing)."""
    if daily_cap == 0:
        return None
    return max(0, daily_cap - sent_today)


def fits(parts: int, daily_cap: int, sent_today: int) -> bool:
    """Whether `parts` more parts can go today without crossing the cap."""
    limit = claim_limit(daily_cap, sent_today)
    return limit is None or parts <= limit


def modem_day(now: datetime, zone: ZoneInfo) -> date:
    """The calendar day `now` (aware) falls on in the modem's time zone."""
    return now.astimezone(zone).date()


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """When `day` begins in `zone`, as an aware UTC time (for counting a day's parts)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def until_next_day(now: datetime, zone: ZoneInfo) -> float:
    """Seconds from `now` to the start of the modem's next day (at least a moment)."""
    tomorrow = modem_day(now, zone) + timedelta(days=1)
    return max(0.001, (day_start(tomorrow, zone) - now).total_seconds())
