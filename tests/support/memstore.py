"""An in-memory WorkStore with the outbox's rules, to test the dispatcher alone.

It can fail as a database does when its disk is full: while `down`, every call raises
`StorageUnavailable` (and is counted in `refused`); `down_after_claim` takes it down the
moment a message has been claimed, so the send result of that message cannot be written.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from drivers.sms import encode_submit
from gateway.core.errors import StorageUnavailable
from gateway.core.outbox import Claim, ClaimedPart


@dataclass
class MemPart:
    part_id: int
    seq: int
    pdu: str
    tpdu_length: int
    mr: int | None = None
    modem_id: str | None = None


@dataclass
class MemMessage:
    message_id: str
    recipient: str
    text: str
    parts: list[MemPart]
    status: str = "queued"
    modem_id: str | None = None  # pinned
    claimed_by: str | None = None
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    sends: list[tuple[str, int]] = field(default_factory=list)  # (modem, seq) every part sent


class MemStore:
    def __init__(self, max_attempts: int = 5) -> None:
        self.messages: dict[str, MemMessage] = {}
        self._ids = itertools.count(1)
        self._ref = itertools.count(1)
        self.max_attempts = max_attempts
        self.lock = asyncio.Lock()
        self.retries: list[tuple[str, bool]] = []  # (message id, pinned) per retry asked for
        self.down = False
        self.down_after_claim = False
        self.refused: Counter[str] = Counter()

    def _storage(self, call: str) -> None:
        if self.down:
            self.refused[call] += 1
            raise StorageUnavailable("database or disk is full (SQLITE_FULL)")

    def lapse_leases(self) -> None:
        """Every message being sent becomes claimable again, as when its lease ran out."""
        for m in self.messages.values():
            if m.status == "sending":
                m.status, m.claimed_by = "queued", None

    def add(self, recipient: str, text: str) -> str:
        mid = f"m{next(self._ids)}"
        self.messages[mid] = MemMessage(mid, recipient, text, self._encode(recipient, text))
        return mid

    def _encode(self, recipient: str, text: str) -> list[MemPart]:
        ref = next(self._ref) % 256
        return [
            MemPart(next(self._ids), i, p.pdu, p.tpdu_length)
            for i, p in enumerate(encode_submit(recipient, text, ref=ref), 1)
        ]

    async def claim(self, modem_id: str, max_parts: int | None = None, max_messages: int = 1) -> list[Claim]:
        """One message at a time (`max_messages` is a hint): the tests using this store
        are about what a worker does with each message."""
        claimed = await self._claim_one(modem_id, max_parts)
        return [] if claimed is None else [claimed]

    async def _claim_one(self, modem_id: str, max_parts: int | None) -> Claim | None:
        self._storage("claim")
        async with self.lock:
            for m in self.messages.values():
                if m.status != "queued" or m.claimed_by:
                    continue
                if m.modem_id not in (None, modem_id):
                    continue
                if max_parts is not None and sum(p.mr is None for p in m.parts) > max_parts:
                    continue  # does not fit in what is left of the modem's daily cap
                m.claimed_by = modem_id
                m.status = "sending"
                m.attempts += 1
                self.down = self.down or self.down_after_claim
                return Claim(
                    message_id=m.message_id,
                    recipient=m.recipient,
                    modem_id=modem_id,
                    owner=modem_id,
                    lease_until=datetime.max.replace(tzinfo=UTC),  # this store has no leases
                    attempt=m.attempts,
                    generation=1,
                    parts=tuple(ClaimedPart(p.part_id, p.seq, p.pdu, p.tpdu_length, p.mr) for p in m.parts),
                )
        return None

    def _part(self, part_id: int) -> tuple[MemMessage, MemPart]:
        for m in self.messages.values():
            for p in m.parts:
                if p.part_id == part_id:
                    return m, p
        raise KeyError(part_id)

    async def start(self, message_id: str, modem_id: str) -> None:
        self._storage("start")

    async def part_sent(
        self, part_id: int, modem_id: str, mr: int, *, finishes: str | None = None, then: str | None = None
    ) -> None:
        self._storage("part_sent")
        m, p = self._part(part_id)
        p.mr, p.modem_id = mr, modem_id
        m.modem_id = modem_id
        m.sends.append((modem_id, p.seq))
        if finishes is not None:
            m.status, m.claimed_by = "sent", None

    async def message_sent(self, message_id: str) -> None:
        self._storage("message_sent")
        m = self.messages[message_id]
        m.status, m.claimed_by = "sent", None

    async def retry(self, message_id: str, *, error: str, resend_whole: bool, pinned: bool) -> None:
        self._storage("retry")
        m = self.messages[message_id]
        m.errors.append(error)
        m.claimed_by = None
        self.retries.append((message_id, pinned))
        if m.attempts >= self.max_attempts:
            m.status = "failed"
            return
        m.status = "queued"
        if resend_whole:
            m.parts = self._encode(m.recipient, m.text)
        if not pinned:
            m.modem_id = None

    async def fail(self, message_id: str, *, error: str) -> None:
        self._storage("fail")
        m = self.messages[message_id]
        m.errors.append(error)
        m.status, m.claimed_by = "failed", None

    async def release(self, message_id: str, owner: str | None = None) -> None:
        self._storage("release")
        m = self.messages[message_id]
        if owner is not None and m.claimed_by != owner:
            return
        m.status, m.claimed_by = "queued", None
        m.attempts -= 1
