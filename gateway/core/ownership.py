"""One owner per modem: a second gateway neither sends through a modem another one runs
nor takes back that one's unfinished messages.

Two holds, both taken when a gateway starts (`Gateway.acquire`) and given up when it stops:

- SQLite (`DatabaseLock`): the database is one file on one host, served by one gateway.
  The gateway takes an exclusive `flock` on `<database>.lock` beside it for as long as it
  runs. The kernel drops the lock when the process ends, however it ends (SIGKILL and power
  loss included), so a stale lock never blocks a restart; a second gateway on the same
  file is refused at start, before it touches a message.
- Every database, for PostgreSQL's several nodes (`ModemLeases`): each configured modem id
  is held in `modem_lease` under a lease that the running gateway renews (every third of
  `modem_lease` seconds) and deletes when it stops. A gateway configured with a modem id
  that another live gateway holds refuses to start: it does not wait, because two
  gateways given one modem is a configuration mistake that should fail loudly (a
  supervisor that restarts it gets the modem once the other is gone). A lease is held
  while it has not expired, unless it is an earlier run of this same node whose process
  is gone: a restart after a crash takes its modems back at once, as `outbox.recover`
  takes back its messages. Another node gets a dead node's modem, and with it (through
  `recover` at its start) that node's unfinished messages, only once the lease expired.
  A gateway whose lease was taken while it could not renew it (a database out of reach for
  longer than the lease) stops claiming for that modem.

Lease times are the gateways' own clocks: nodes sharing a database keep them in sync
(NTP), as the outbox's message leases already require.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from gateway.core.db import transaction
from gateway.core.errors import GatewayError
from gateway.core.models import ModemLease

__all__ = [
    "AlreadyRunning",
    "ModemHeld",
    "Holder",
    "Node",
    "verdict",
    "DatabaseLock",
    "ModemLeases",
    "default_node_id",
    "pid_alive",
]


class AlreadyRunning(GatewayError):
    """Another gateway runs on this SQLite database."""

    code = "already_running"


class ModemHeld(GatewayError):
    """A modem id of this gateway is held by another live gateway."""

    code = "modem_held"


@dataclass(frozen=True)
class Node:
    """One run of a gateway: its node (host), its process, and a token new at every start."""

    node_id: str
    pid: int
    token: str

    @classmethod
    def this(cls, node_id: str | None = None) -> Node:
        return cls(node_id or default_node_id(), os.getpid(), secrets.token_hex(8))


@dataclass(frozen=True)
class Holder:
    """Who holds a modem lease, as stored."""

    node_id: str
    pid: int
    token: str
    expires_at: datetime


def verdict(
    holder: Holder | None, me: Node, *, now: datetime, alive: Callable[[int], bool]
) -> Literal["take", "refuse"]:
    """May `me` take (or keep) a modem that `holder` holds? Pure but for `alive(pid)`,
    asked only about a process of this same node."""
    if holder is None or holder.token == me.token or holder.expires_at <= now:
        return "take"
    if holder.node_id == me.node_id and (holder.pid == me.pid or not alive(holder.pid)):
        return "take"  # an earlier run of this node, gone without giving the lease up
    return "refuse"


def default_node_id() -> str:
    return socket.gethostname() or "localhost"


def pid_alive(pid: int) -> bool:
    """Is process `pid` running on this host?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


# --- SQLite: a lock file ------------------------------------------------------------------


class DatabaseLock:
    """An exclusive lock on `<database>.lock`, held from `acquire` until `release` or exit."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    @classmethod
    def for_url(cls, database_url: str) -> DatabaseLock | None:
        """The lock of a SQLite database file; None for PostgreSQL and in-memory SQLite."""
        url = sa.engine.make_url(database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return cls(Path(url.database))

    def acquire(self) -> None:
        """Take the lock; AlreadyRunning (naming the holder) when another process has it."""
        import fcntl  # POSIX: the serial ports and the gateway run on Linux

        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "a process"
            os.close(fd)
            database = self.path.with_name(self.path.name.removesuffix(".lock"))
            raise AlreadyRunning(
                f"{database} is in use by another gateway ({holder}); one gateway serves a SQLite "
                "database: stop that one first, or give this one its own database_url"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {default_node_id()}".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # the file stays: removing it would race with a starter
            self._fd = None


# --- every database: modem leases ---------------------------------------------------------


class ModemLeases:
    """This gateway's leases on its modem ids in `modem_lease`."""

    def __init__(
        self,
        engine: Engine,
        modem_ids: Collection[str],
        *,
        lease: timedelta,
        me: Node | None = None,
        alive: Callable[[int], bool] = pid_alive,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.modem_ids = sorted(modem_ids)
        self.lease = lease
        self.me = me or Node.this()
        self._alive = alive
        self._monotonic = monotonic
        # Held until (monotonic: a wall clock moved by hand or by NTP does not stretch it),
        # counted from just before the last take or renewal.
        self._until: dict[str, float] = {}

    def acquire(self, *, now: datetime) -> None:
        """Take every modem id, or none: ModemHeld names the first one another gateway holds."""
        refused = self._take(now)
        if refused:
            modem_id, holder = refused[0]
            raise ModemHeld(
                f"modem {modem_id!r} is run by another gateway (node {holder.node_id!r}, pid {holder.pid}; "
                f"its lease runs to {holder.expires_at:%Y-%m-%d %H:%M:%S} UTC unless renewed); a modem id runs on "
                "one gateway at a time: stop that one, or give this modem another id"
            )

    def renew(self, *, now: datetime) -> list[str]:
        """Extend the leases (taking back any that lapsed and nobody took); return the
        modem ids another gateway holds now (this one must stop using them)."""
        return [modem_id for modem_id, _ in self._take(now, all_or_nothing=False)]

    def holds(self, modem_id: str) -> bool:
        """Whether this gateway's lease on `modem_id` is valid (as of its last renewal)."""
        until = self._until.get(modem_id)
        return until is not None and self._monotonic() < until

    def release(self) -> None:
        """Give the leases up (at a clean stop): another gateway may take the modems at once."""
        with transaction(self.engine) as conn:
            conn.execute(
                sa.delete(ModemLease).where(
                    col(ModemLease.modem_id).in_(self.modem_ids), col(ModemLease.token) == self.me.token
                )
            )
        self._until.clear()

    def _take(self, now: datetime, *, all_or_nothing: bool = True) -> list[tuple[str, Holder]]:
        started = self._monotonic()
        for attempt in range(3):
            try:
                with transaction(self.engine) as conn:
                    taken, refused = self._take_in(conn, now)
                    if refused and all_or_nothing:
                        raise _Refused(refused)  # rolls the others back
                for modem_id, _ in refused:
                    self._until.pop(modem_id, None)
                self._until.update((modem_id, started + self.lease.total_seconds()) for modem_id in taken)
                return refused
            except _Refused as exc:
                self._until.clear()
                return exc.refused
            except sa.exc.IntegrityError:
                # Another gateway inserted the same modem id meanwhile: look again.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _take_in(self, conn: Connection, now: datetime) -> tuple[list[str], list[tuple[str, Holder]]]:
        rows = conn.execute(
            sa.select(ModemLease).where(col(ModemLease.modem_id).in_(self.modem_ids)).with_for_update()
        ).all()
        held = {r.modem_id: Holder(r.node_id, r.pid, r.token, r.expires_at) for r in rows}
        until = now + self.lease
        taken: list[str] = []
        refused: list[tuple[str, Holder]] = []
        for modem_id in self.modem_ids:
            holder = held.get(modem_id)
            if verdict(holder, self.me, now=now, alive=self._alive) == "refuse":
                assert holder is not None
                refused.append((modem_id, holder))
                continue
            values = {"node_id": self.me.node_id, "pid": self.me.pid, "token": self.me.token, "expires_at": until}
            if holder is None:
                conn.execute(sa.insert(ModemLease).values(modem_id=modem_id, acquired_at=now, **values))
            else:
                if holder.token != self.me.token:
                    values["acquired_at"] = now
                conn.execute(sa.update(ModemLease).where(col(ModemLease.modem_id) == modem_id).values(**values))
            taken.append(modem_id)
        return taken, refused


class _Refused(Exception):
    def __init__(self, refused: list[tuple[str, Holder]]) -> None:
        self.refused = refused
