"""Auto-replies: an answer to inbound text no other rule answered.

A rule applies to messages received on its modem (or any), containing one of its words
(or any text), and, with business hours set, only outside them ("we are closed, back at
9"). It never answers an alphanumeric sender or a short code (services and other bots,
which would answer back), and at most `max_per_period` times per number per
`period_seconds` over all rules, so two machines can never keep each other talking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.audience.keywords import normalise_keyword
from gateway.automation.outgoing import queue_text
from gateway.campaigns.compliance import parse_clock, window_opening
from gateway.core.db import get_or_raise
from gateway.core.errors import InvalidInput
from gateway.core.models import AutoReplyRule, AutoReplySent
from gateway.core.timezones import check_time_zone

__all__ = ["RuleSpec", "create_rule", "all_rules", "delete_rule", "choose", "reply"]


@dataclass(frozen=True)
class RuleSpec:
    name: str
    reply: str
    modem_id: str | None = None
    contains: Sequence[str] = ()
    hours_start: str | None = None  # business hours; the rule answers outside them
    hours_end: str | None = None
    time_zone: str = "UTC"
    max_per_period: int = 1
    period_seconds: int = 86_400


def create_rule(s: Session, spec: RuleSpec, *, now: datetime) -> AutoReplyRule:
    """Store a rule (flushed); InvalidInput for a bad one."""
    if not spec.name.strip():
        raise InvalidInput("name", "empty")
    if not spec.reply.strip():
        raise InvalidInput("reply", "empty")
    if (spec.hours_start is None) != (spec.hours_end is None):
        raise InvalidInput("hours_start", "give both business hours or neither")
    for field, value in (("hours_start", spec.hours_start), ("hours_end", spec.hours_end)):
        if value is not None:
            try:
                parse_clock(value)
            except ValueError as exc:
                raise InvalidInput(field, str(exc)) from None
    if not 1 <= spec.max_per_period <= 100 or not 60 <= spec.period_seconds <= 30 * 86_400:
        raise InvalidInput("max_per_period", "1 to 100 replies per 1 minute to 30 days")
    words = [w for w in spec.contains if normalise_keyword(w)]
    row = AutoReplyRule(
        name=spec.name.strip(), reply=spec.reply, modem_id=spec.modem_id, contains=words,
        hours_start=spec.hours_start, hours_end=spec.hours_end,
        time_zone=check_time_zone(spec.time_zone, field="time_zone"), max_per_period=spec.max_per_period,
        period_seconds=spec.period_seconds, created_at=now,
    )  # fmt: skip
    s.add(row)
    s.flush()
    return row


def all_rules(s: Session) -> list[AutoReplyRule]:
    return list(s.exec(select(AutoReplyRule).order_by(col(AutoReplyRule.id))))


def delete_rule(s: Session, rule_id: int) -> None:
    s.delete(get_or_raise(s, AutoReplyRule, rule_id, "auto-reply rule"))
    s.flush()


def choose(rules: Sequence[AutoReplyRule], modem_id: str, text: str, now: datetime) -> AutoReplyRule | None:
    """The first enabled rule (oldest first, a modem's own before general ones) that fits."""
    said = {normalise_keyword(w) for w in text.split()}
    ordered = sorted(rules, key=lambda r: (r.modem_id is None, r.id))
    for rule in ordered:
        if not rule.enabled or (rule.modem_id is not None and rule.modem_id != modem_id):
            continue
        if rule.contains and not said & {normalise_keyword(w) for w in rule.contains}:
            continue
        if rule.hours_start is not None and rule.hours_end is not None:
            if window_opening(now, rule.time_zone, rule.hours_start, rule.hours_end) is None:
                continue  # open for business: a person answers
        return rule
    return None


def reply(s: Session, number: str, modem_id: str, text: str, *, now: datetime) -> str | None:
    """Queue the auto-reply to `number` (already known to be a person's number), if a rule
    fits and the number is under its limit; the message's id."""
    rule = choose(all_rules(s), modem_id, text, now)
    if rule is None:
        return None
    since = now - timedelta(seconds=rule.period_seconds)
    recent = s.execute(
        sa.select(sa.func.count())
        .select_from(AutoReplySent)
        .where(col(AutoReplySent.number) == number, col(AutoReplySent.sent_at) > since)
    ).scalar_one()
    if recent >= rule.max_per_period:
        return None
    message_id = queue_text(s, number, rule.reply, now=now, kind="auto-reply")
    s.add(AutoReplySent(rule_id=rule.id, number=number, message_id=message_id, sent_at=now))  # type: ignore[arg-type]
    s.flush()
    return message_id
