"""The marketing side of a running gateway, assembled from the settings.

The transport (`gateway.core.runtime.Gateway`) knows nothing of consent or campaigns; the
composition root (`cli`, and `api.app.create_app` when given no gateway) hands it these
`Extensions`:

- the outbox claim's policy: consent, send windows and frequency caps
  (`gateway.campaigns.compliance`), with the `[campaigns]` window and cap for marketing
  sent without a campaign;
- STOP, START and HELP by SMS (`gateway.audience.consent.handle_inbound`), answered with a
  keyword reply queued in the same transaction as the inbound message;
- the recipient's time zone for marketing sent through the API;
- the campaign step (`gateway.campaigns.expansion.run_due`) the gateway runs periodically.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from sqlalchemy.engine import Engine
from sqlmodel import Session

from gateway.audience import consent, contacts
from gateway.campaigns import compliance, expansion
from gateway.core import outbox
from gateway.core.models import InboundMessage
from gateway.core.runtime import Extensions
from gateway.core.settings import Settings

__all__ = ["marketing", "marketing_rules", "answer_keyword", "recipient_time_zone", "run_campaigns"]


def marketing(settings: Settings) -> Extensions:
    """Everything marketing adds to a gateway run with `settings`."""
    return Extensions(
        claim_policy=compliance.CompliancePolicy(marketing_rules(settings)),
        on_inbound=partial(answer_keyword, settings),
        recipient_time_zone=partial(recipient_time_zone, settings),
        run_due=partial(run_campaigns, settings),
    )


def marketing_rules(settings: Settings) -> compliance.Rules:
    """The `[campaigns]` send window and frequency cap, for marketing without a campaign, and
    whether an opt-out stops transactional messages too (`[consent] stop_transactional`)."""
    c = settings.campaigns
    return compliance.Rules(
        c.window_start, c.window_end, c.frequency_cap, c.frequency_days, settings.consent.stop_transactional
    )


def answer_keyword(settings: Settings, s: Session, message: InboundMessage, now: datetime) -> Sequence[str]:
    """Act on a whole inbound message if it is a keyword; the id of the reply queued, if any."""
    action = consent.handle_inbound(
        s, message.sender, message.text or "", settings=settings.consent, now=now,
        region=settings.default_region, source_message_id=message.id,
    )  # fmt: skip
    if action is None or not action.reply:
        return []
    return [outbox.queue_keyword_reply(s, action.number, action.reply, now=now).id]


def recipient_time_zone(settings: Settings, s: Session, number: str) -> str:
    """The contact's time zone, else the number's own (when it has one), else the account's."""
    contact = contacts.find_contact(s, number)
    if contact is not None:
        return contact.time_zone
    return contacts.resolve_time_zone(number, None, settings.consent.default_time_zone)[0]


def run_campaigns(settings: Settings, engine: Engine, now: datetime) -> int:
    """Expand the due campaigns and finish the done ones; the number of messages queued."""
    return expansion.run_due(engine, now=now, settings=settings)
