"""What the outbox claim asks before a message goes out: allow, suppress, or defer.

Checked for every message when it is about to be claimed (not when it was queued), in
the claim's own transaction, in this order:

1. Consent (`gateway.audience.consent.may_send`): an opted-out number gets nothing (with
   `[consent] stop_transactional = false`, still its transactional messages); marketing needs
   an opt-in. -> suppress (opted_out, no_consent, consent_withdrawn)
2. For campaign messages:
   - a cancelled campaign's message -> suppress (cancelled); a paused one's -> defer an hour
     (resume makes them due at once);
   - the send window, in the recipient's local time (`message.time_zone`): outside it the
     message waits for the window's next opening -> defer (send_window). It is not dropped.
   - the frequency cap: at most `campaign.frequency_cap` marketing messages per number per
     `frequency_days`, counting messages actually sent to that number in that time (any
     campaign, and marketing sent through the API) plus those being sent right now.
     A message over the cap is suppressed (frequency_cap), not deferred: a promotion that
     arrives days late, after the cap frees up, is worth less than none, and a deferred
     message would keep re-testing the cap until its validity ran out.
3. For marketing sent through the API (no campaign): the same send window and cap, those
   new campaigns start with (`Rules`: `[campaigns]` in the settings, 10:00-20:00 and 4 in 7
   days unless set), in the recipient's zone found at submit (`message.time_zone`: the
   contact's, else the number's, else the account's).
   Transactional messages have neither.

Keyword replies (the STOP confirmation, HELP) and parts of a message already partly sent
are never held: the claim does not ask for them.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import col

from gateway.audience import consent
from gateway.core.db import lock_for
from gateway.core.models import Campaign, Message

__all__ = [
    "Decision",
    "ALLOW",
    "Rules",
    "DEFAULT_RULES",
    "CompliancePolicy",
    "check",
    "hold",
    "window_opening",
    "parse_clock",
    "PAUSE_HOLD",
]

PAUSE_HOLD = timedelta(hours=1)  # a paused campaign's message is looked at again after this


@dataclass(frozen=True)
class Rules:
    """The send window (recipient local time) and frequency cap of marketing without a
    campaign; new campaigns start with them too."""

    window_start: str = "10:00"
    window_end: str = "20:00"
    frequency_cap: int = 4  # marketing messages per number ...
    frequency_days: int = 7  # ... in this many days; a cap of 0 is none
    # An opted-out number gets no transactional message either (`[consent] stop_transactional`).
    stop_transactional: bool = True


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class Decision:
    action: Literal["allow", "suppress", "defer"]
    reason: str = "ok"  # opted_out, no_consent, consent_withdrawn, cancelled, frequency_cap; paused, send_window
    detail: str | None = None
    until: datetime | None = None  # defer: when the message is due again
    # defer: (campaign id, time zone) whose other due messages wait with it, so a closed
    # window costs the claim one step per zone, not one per message
    siblings: tuple[int, str | None] | None = None

    def describe(self) -> str:
        return self.reason + (f" ({self.detail})" if self.detail else "")


ALLOW = Decision("allow")


@dataclass(frozen=True)
class CompliancePolicy:
    """The outbox claim's policy (`gateway.core.claimpolicy.ClaimPolicy`): `check`, then
    `hold` what does not go now. `rules` hold for marketing that is not part of a campaign."""

    rules: Rules = DEFAULT_RULES

    def screen(self, conn: Connection, row: Any, *, now: datetime) -> Decision:
        decision = check(conn, row, now=now, rules=self.rules)
        if decision.action != "allow":
            hold(conn, row.id, decision, now=now)
        return decision


def check(conn: Connection, row: Any, *, now: datetime, rules: Rules = DEFAULT_RULES) -> Decision:
    """The decision for a due message; `row` has id, recipient, category, campaign_id.
    `rules` hold for marketing that is not part of a campaign."""
    verdict = consent.may_send(conn, row.recipient, row.category, stop_transactional=rules.stop_transactional)
    if not verdict.allowed:
        return Decision("suppress", verdict.reason, verdict.detail)
    if row.campaign_id is None:
        if row.category != "marketing":
            return ALLOW
        zone = conn.execute(sa.select(col(Message.time_zone)).where(col(Message.id) == row.id)).scalar()
        return _window_and_cap(
            conn, row, zone, rules.window_start, rules.window_end, rules.frequency_cap, rules.frequency_days,
            siblings=None, now=now,
        )  # fmt: skip
    found = conn.execute(
        sa.select(
            col(Campaign.status), col(Campaign.window_start), col(Campaign.window_end),
            col(Campaign.frequency_cap), col(Campaign.frequency_days), col(Message.time_zone),
        )
        .select_from(Message)
        .join(Campaign, col(Campaign.id) == col(Message.campaign_id))
        .where(Message.id == row.id)
    ).first()  # fmt: skip
    if found is None:  # the campaign was deleted under it
        return Decision("suppress", "cancelled")
    if found.status == "cancelled":
        return Decision("suppress", "cancelled")
    if found.status == "paused":
        return Decision("defer", "paused", until=now + PAUSE_HOLD, siblings=(row.campaign_id, None))
    return _window_and_cap(
        conn, row, found.time_zone, found.window_start, found.window_end, found.frequency_cap, found.frequency_days,
        siblings=row.campaign_id, now=now,
    )  # fmt: skip


def _window_and_cap(
    conn: Connection,
    row: Any,
    zone: str | None,
    window_start: str,
    window_end: str,
    cap: int,
    days: int,
    *,
    siblings: int | None,
    now: datetime,
) -> Decision:
    opening = window_opening(now, zone or "UTC", window_start, window_end)
    if opening is not None:
        return Decision(
            "defer", "send_window", f"until {opening.isoformat()}", until=opening,
            siblings=(siblings, zone) if siblings is not None else None,
        )  # fmt: skip
    if cap > 0:
        lock_for(conn, f"frequency-cap:{row.recipient}", 0)  # two modems, one number: one at a time
        since = now - timedelta(days=days)
        recent = conn.execute(
            sa.select(sa.func.count())
            .select_from(Message)
            .where(
                Message.recipient == row.recipient,
                col(Message.category) == "marketing",
                Message.id != row.id,
                sa.or_(col(Message.sent_at) >= since, col(Message.status) == "sending"),
            )
        ).scalar_one()
        if recent >= cap:
            return Decision("suppress", "frequency_cap", f"{recent} marketing messages in {days} days")
    return ALLOW


def hold(conn: Connection, message_id: str, decision: Decision, *, now: datetime) -> None:
    """Record why the claim held or stopped a message; for a deferral, make it due again then."""
    values: dict[str, Any] = {"held_reason": decision.reason, "updated_at": now}
    if decision.action == "defer":
        values["next_attempt_at"] = decision.until
    conn.execute(sa.update(Message).where(col(Message.id) == message_id).values(**values))
    if decision.action == "defer" and decision.siblings is not None:
        campaign_id, zone = decision.siblings
        same = [
            col(Message.campaign_id) == campaign_id,
            col(Message.status) == "queued",
            col(Message.next_attempt_at) <= now,
        ]
        if decision.reason == "send_window":
            same.append(col(Message.time_zone) == zone if zone is not None else col(Message.time_zone).is_(None))
        conn.execute(sa.update(Message).where(*same).values(**values))


def window_opening(now: datetime, zone: str, start: str, end: str) -> datetime | None:
    """None when `now` is inside the daily window [start, end) of local time in `zone`,
    else the window's next opening (UTC). A window with start after end runs overnight."""
    tz = _zone(zone)
    local = now.astimezone(tz)
    begin, finish = parse_clock(start), parse_clock(end)
    minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
    if begin == finish or (begin == 0 and finish == 1440):
        return None
    inside = begin <= minute < finish if begin < finish else (minute >= begin or minute < finish)
    if inside:
        return None
    day = local.date() if minute < begin else local.date() + timedelta(days=1)
    opening = datetime.combine(day, time(begin // 60, begin % 60), tzinfo=tz)
    return opening.astimezone(UTC)


def parse_clock(value: str) -> int:
    """Minutes after midnight of "HH:MM" (00:00 to 24:00); ValueError otherwise."""
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) in (1, 2)):
        raise ValueError(f"{value!r} is not HH:MM")
    total = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or total > 1440:
        raise ValueError(f"{value!r} is not a time of day (00:00 to 24:00)")
    return total


@lru_cache(maxsize=1024)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")
