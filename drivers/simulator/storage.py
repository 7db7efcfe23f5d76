"""Message storage of a simulated SIM / phone memory (`SM`, `ME`), as AT+CPMS exposes it.

Indices start at 1 like on common modems; a slot is free until written. `stat` follows
3GPP TS 27.005 §3.1: 0 received unread, 1 received read, 2 stored unsent, 3 stored sent.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Stored", "MessageStore", "STAT_NAMES"]

# 27.005 §3.1 <stat>: PDU-mode integer and text-mode string.
STAT_NAMES = {0: "REC UNREAD", 1: "REC READ", 2: "STO UNSENT", 3: "STO SENT", 4: "ALL"}


@dataclass(slots=True)
class Stored:
    index: int
    stat: int
    pdu: str  # hex, SMSC prefix included
    tpdu_length: int


class MessageStore:
    """One memory (`SM` or `ME`) with a fixed number of slots."""

    def __init__(self, name: str, capacity: int) -> None:
        self.name = name
        self.capacity = capacity
        self._slots: dict[int, Stored] = {}

    @property
    def used(self) -> int:
        return len(self._slots)

    @property
    def full(self) -> bool:
        return len(self._slots) >= self.capacity

    def add(self, pdu: str, stat: int) -> int | None:
        """Store a PDU in the lowest free slot; None when full."""
        for index in range(1, self.capacity + 1):
            if index not in self._slots:
                smsc_len = int(pdu[:2], 16)
                self._slots[index] = Stored(index, stat, pdu, len(pdu) // 2 - 1 - smsc_len)
                return index
        return None

    def get(self, index: int) -> Stored | None:
        return self._slots.get(index)

    def valid_index(self, index: int) -> bool:
        return 1 <= index <= self.capacity

    def delete(self, index: int) -> None:
        self._slots.pop(index, None)

    def list(self, stat: int) -> list[Stored]:
        """Messages with `stat` (4 = all), in index order."""
        return [s for i, s in sorted(self._slots.items()) if stat == 4 or s.stat == stat]

    def delete_by_flag(self, flag: int) -> None:
        """AT+CMGD=<i>,<delflag>: 1 read, 2 read+sent, 3 read+sent+unsent, 4 all."""
        doomed = {1: {1}, 2: {1, 3}, 3: {1, 2, 3}, 4: {0, 1, 2, 3}}[flag]
        for index in [i for i, s in self._slots.items() if s.stat in doomed]:
            del self._slots[index]
