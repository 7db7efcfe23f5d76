"""The outbox claim asks its policy (`gateway.core.claimpolicy`) and nothing else: without
one every due message goes; what a policy suppresses ends, what it defers waits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gateway.core import outbox
from gateway.core.claimpolicy import ClaimAction
from gateway.core.db import session
from gateway.core.models import Message

NOW = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # outside any daytime send window


def submit(engine: Engine, recipient: str, **kw: Any) -> str:
    with session(engine) as s:
        return outbox.submit(s, api_key_id=None, recipient=recipient, text="hello", now=NOW, **kw).message.id


def claim_all(engine: Engine, **kw: Any) -> list[str]:
    claimed = []
    while (claim := outbox.claim(engine, modem_id="m1", owner="m1", now=NOW, **kw)) is not None:
        claimed.append(claim.message_id)
    return claimed


@dataclass(frozen=True)
class Verdict:
    action: ClaimAction

    def describe(self) -> str:
        return f"{self.action} by the test policy"


class ByRecipient:
    """Decides by recipient number; defers by an hour; notes whom it was asked about."""

    def __init__(self, actions: dict[str, ClaimAction]) -> None:
        self.actions = actions
        self.asked: list[str] = []

    def screen(self, conn: Connection, row: sa.Row[Any], *, now: datetime) -> Verdict:
        self.asked.append(row.recipient)
        action = self.actions.get(row.recipient, "allow")
        if action == "defer":
            conn.execute(
                sa.update(Message).where(Message.id == row.id).values(next_attempt_at=now + timedelta(hours=1))
            )
        return Verdict(action)


def test_without_a_policy_every_due_message_goes_marketing_at_night_without_consent_too(engine) -> None:
    marketing = submit(engine, "+31611110001", category="marketing")
    receipt = submit(engine, "+31611110002")
    assert sorted(claim_all(engine)) == sorted([marketing, receipt])


def test_the_claim_ends_what_its_policy_suppresses_and_leaves_what_it_defers(engine) -> None:
    allowed, suppressed, deferred = "+31611110001", "+31611110002", "+31611110003"
    ids = {n: submit(engine, n) for n in (allowed, suppressed, deferred)}
    with session(engine) as s:
        reply = outbox.queue_keyword_reply(s, suppressed, "You are unsubscribed.", now=NOW).id
        s.commit()
    policy = ByRecipient({suppressed: "suppress", deferred: "defer"})
    assert sorted(claim_all(engine, claim_policy=policy)) == sorted([ids[allowed], reply])
    assert sorted(policy.asked) == sorted([allowed, suppressed, deferred])  # never about a keyword reply
    with session(engine) as s:
        gone = outbox.get_message(s, ids[suppressed])
        waiting = outbox.get_message(s, ids[deferred])
    assert (gone.status, gone.last_error) == ("suppressed", "not sent: suppress by the test policy")
    assert (waiting.status, waiting.next_attempt_at) == ("queued", NOW + timedelta(hours=1))
