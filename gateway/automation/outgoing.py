"""What automation sends: ordinary outbox messages queued in the caller's transaction.

Answers to a person's own message (a keyword's reply, a survey question, an auto-reply)
are transactional: consent does not hold them, the suppression list does (a STOP ends
them too). Sequence steps are queued by `gateway.automation.sequences` with their own
category. Either way the outbox's claim policy (`gateway.campaigns.compliance`) decides
at send time, so nothing here checks consent itself.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session

from gateway.core import outbox
from gateway.core.errors import InvalidInput
from gateway.core.models import Category
from gateway.core.numbers import normalise_number

__all__ = ["queue_text", "sender_number", "replyable"]

_E164 = re.compile(r"\+[1-9][0-9]{5,14}")  # ITU-T E.164: at most 15 digits
# Shorter national numbers are short codes (services, other bots), never people.
_SHORTEST_SUBSCRIBER = 8  # digits of an E.164 number, country code included


def queue_text(
    s: Session,
    number: str,
    text: str,
    *,
    now: datetime,
    category: Category = "transactional",
    contact_id: int | None = None,
    time_zone: str | None = None,
    kind: str = "automation-reply",
) -> str:
    """Queue `text` to an E.164 number (no commit); the message's id."""
    draft = outbox.Draft(number, text, kind, category=category, contact_id=contact_id, time_zone=time_zone)
    outbox.insert_many(s, [draft], now=now)
    return draft.id


def sender_number(sender: str, region: str) -> str | None:
    """The sender of an inbound message in E.164, or None for an alphanumeric sender."""
    try:
        return normalise_number(sender, region)
    except InvalidInput:
        return sender if _E164.fullmatch(sender) else None


def replyable(sender: str, region: str) -> str | None:
    """The sender in E.164 when it is a person's number an automatic answer may go to:
    None for alphanumeric senders and short codes (services and bots answer back)."""
    number = sender_number(sender, region)
    if number is None or len(number) - 1 < _SHORTEST_SUBSCRIBER:
        return None
    return number
