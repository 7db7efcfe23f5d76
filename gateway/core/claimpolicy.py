"""What the outbox's claim asks before a message goes out: a policy the wiring supplies.

The core sends whatever is due. Rules about whether a particular recipient may get a
particular message now (consent, a campaign's send window, a frequency cap) belong to the
layers above, so the claim takes them as a `ClaimPolicy` instead of importing them:
`gateway.campaigns.compliance.CompliancePolicy` is the one the gateway runs with, and
`ALLOW_ALL` (no marketing installed) lets everything through.

The policy is asked inside the claim's transaction, with the message's row locked, and
only for messages that may still be held: keyword replies and the rest of a message
whose first parts went out are never asked about.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["ClaimAction", "ClaimDecision", "ClaimPolicy", "AllowAll", "ALLOW_ALL"]

ClaimAction = Literal["allow", "suppress", "defer"]


class ClaimDecision(Protocol):
    """What the policy decided about one due message."""

    @property
    def action(self) -> ClaimAction:
        """allow: hand it out now; suppress: end it `suppressed`; defer: it waits (the
        policy has made it due again later)."""
        ...

    def describe(self) -> str:
        """Why, for the message's `last_error` when it is suppressed."""
        ...


class ClaimPolicy(Protocol):
    def screen(self, conn: Connection, row: sa.Row[*tuple[Any, ...]], *, now: datetime) -> ClaimDecision:
        """Decide about the due message `row` (id, recipient, category, campaign_id) in the
        claim's transaction. For anything but allow, record the hold on the message (why
        it waits; for a deferral, when it is due again) before returning: the claim then
        closes a suppressed message and moves on."""
        ...


class _Allowed:
    action: ClaimAction = "allow"

    def describe(self) -> str:
        return "ok"


class AllowAll:
    """The policy of a gateway without marketing rules: every due message goes."""

    def screen(self, conn: Connection, row: sa.Row[*tuple[Any, ...]], *, now: datetime) -> ClaimDecision:
        return _ALLOWED


_ALLOWED = _Allowed()
ALLOW_ALL = AllowAll()
