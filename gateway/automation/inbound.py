"""What happens to a whole inbound message, in the transaction that stores it.

In this order, the first that takes the message ends it:
1. STOP / START / HELP (`gateway.audience.consent`): the built-in words win over custom
   ones. STOP also ends the number's sequences and any open survey question.
2. A sender that is not a phone number (an alphanumeric sender) gets nothing more.
3. Any other message ends the sequences that exit on a reply.
4. A YES confirming a double opt-in; a custom keyword (`gateway.automation.keywords`);
   an answer to an open survey question (`gateway.automation.surveys`).
5. Otherwise an auto-reply (`gateway.automation.autoreply`), never to a short code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.audience import consent
from gateway.automation import autoreply, keywords, sequences, surveys
from gateway.automation.outgoing import replyable, sender_number
from gateway.core import outbox
from gateway.core.models import DripSequence, InboundMessage, SurveySession
from gateway.core.settings import Settings

__all__ = ["handle"]


def handle(settings: Settings, s: Session, message: InboundMessage, now: datetime) -> Sequence[str]:
    """Act on `message`; the ids of the messages queued in answer."""
    text = message.text or ""
    region = settings.default_region
    zone = settings.consent.default_time_zone
    action = consent.handle_inbound(
        s, message.sender, text, settings=settings.consent, now=now, region=region, source_message_id=message.id
    )
    if action is not None:
        if action.kind == "stop":
            sequences.exit_enrollments(s, action.number, "stop", now=now)
            _close_surveys(s, action.number)
        return [outbox.queue_keyword_reply(s, action.number, action.reply, now=now).id] if action.reply else []
    number = sender_number(message.sender, region)
    if number is None:
        return []
    on_reply = [q.id for q in s.exec(select(DripSequence).where(DripSequence.exit_on_reply == True))]  # noqa: E712
    sequences.exit_enrollments(s, number, "reply", now=now, sequence_ids=on_reply)  # type: ignore[arg-type]
    link_base = settings.public_url
    confirmed = keywords.confirm(s, number, text, now=now, default_time_zone=zone, public_url=link_base)
    if confirmed is not None:
        return confirmed.queued
    rule = keywords.find_rule(s, text, message.modem_id)
    if rule is not None:
        return keywords.apply(s, rule, number, message, now=now, default_time_zone=zone, public_url=link_base).queued
    answered = surveys.answer(s, number, message, now=now)
    if answered is not None:
        return answered.queued
    person = replyable(message.sender, region)
    if person is None:
        return []
    sent = autoreply.reply(s, person, message.modem_id, text, now=now)
    return [sent] if sent else []


def _close_surveys(s: Session, number: str) -> None:
    s.execute(
        sa.update(SurveySession)
        .where(col(SurveySession.number) == number, col(SurveySession.status) == "open")
        .values(status="expired")
    )
