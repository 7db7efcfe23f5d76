"""One owner per modem: the lease rule, the modem leases on SQLite and PostgreSQL, and the
SQLite database's lock file."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta

import pytest

from gateway.core import outbox
from gateway.core.db import session
from gateway.core.ownership import AlreadyRunning, DatabaseLock, Holder, ModemHeld, ModemLeases, Node, verdict
from gateway.core.runtime import OutboxWorkStore
from tests.support.clock import T0

ME = Node("node-a", 100, "token-now")
LIVE, DEAD = (lambda pid: True), (lambda pid: False)


def holder(node: str = "node-b", pid: int = 200, token: str = "other", expires_in: float = 10) -> Holder:
    return Holder(node, pid, token, T0 + timedelta(seconds=expires_in))


@pytest.mark.parametrize(
    ("held", "alive", "expected"),
    [
        (None, LIVE, "take"),
        (holder(token="token-now"), LIVE, "take"),  # mine: renewed
        (holder(expires_in=0), LIVE, "take"),  # expired: its owner stopped renewing
        (holder(expires_in=-5), LIVE, "take"),
        (holder(), LIVE, "refuse"),  # another node's, live
        (holder(), DEAD, "refuse"),  # another node's process cannot be asked: wait for the lease
        (holder(node="node-a", pid=200), LIVE, "refuse"),  # another live gateway on this node
        (holder(node="node-a", pid=200), DEAD, "take"),  # an earlier run of this node, gone
        (holder(node="node-a", pid=100), LIVE, "take"),  # an earlier run with this very pid
    ],
)
def test_a_modem_is_taken_only_from_nobody_an_expired_lease_or_an_earlier_run_of_this_node(held, alive, expected):
    assert verdict(held, ME, now=T0, alive=alive) == expected


class Monotonic:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def leases(engine, node: str, pid: int, *, modems=("m1", "m2"), alive=LIVE, mono=None) -> ModemLeases:
    return ModemLeases(
        engine,
        modems,
        lease=timedelta(seconds=30),
        me=Node(node, pid, f"{node}-{pid}"),
        alive=alive,
        monotonic=mono or Monotonic(),
    )


def test_a_second_gateway_with_a_held_modem_id_is_refused_until_the_lease_expires(engine):
    first = leases(engine, "node-a", 1)
    first.acquire(now=T0)
    assert first.holds("m1") and first.holds("m2")

    second = leases(engine, "node-b", 2, modems=("m2", "m3"))
    with pytest.raises(ModemHeld, match=r"modem 'm2' is run by another gateway \(node 'node-a', pid 1"):
        second.acquire(now=T0 + timedelta(seconds=29))
    assert not second.holds("m3")  # all or nothing
    # Different modem ids share the database freely.
    leases(engine, "node-b", 2, modems=("m3",)).acquire(now=T0)

    # The first stops renewing (killed): the lease runs out, then the modem may change hands.
    second.acquire(now=T0 + timedelta(seconds=30))
    assert second.holds("m2")
    assert first.renew(now=T0 + timedelta(seconds=31)) == ["m2"]  # it learns it lost m2
    assert not first.holds("m2") and first.holds("m1")


def test_a_restart_on_the_same_node_takes_its_modems_back_at_once(engine):
    leases(engine, "node-a", 1).acquire(now=T0)  # then killed: no release
    with pytest.raises(ModemHeld):
        leases(engine, "node-a", 2, alive=LIVE).acquire(now=T0)  # pid 1 still runs
    leases(engine, "node-a", 2, alive=DEAD).acquire(now=T0 + timedelta(seconds=1))


def test_renewing_extends_the_lease_and_a_clean_stop_gives_it_up(engine):
    mono = Monotonic()
    first = leases(engine, "node-a", 1, mono=mono)
    first.acquire(now=T0)
    mono.t = 29.0
    assert first.renew(now=T0 + timedelta(seconds=20)) == []
    mono.t = 45.0
    assert first.holds("m1")  # renewed at 29 s: held to 59 s
    with pytest.raises(ModemHeld):
        leases(engine, "node-b", 2).acquire(now=T0 + timedelta(seconds=40))
    mono.t = 60.0
    assert not first.holds("m1")  # not renewed in time: it stops claiming for the modem
    first.release()
    leases(engine, "node-b", 2).acquire(now=T0 + timedelta(seconds=41))


def test_a_second_lock_on_a_sqlite_database_is_refused_with_one_line_naming_the_holder(tmp_path):
    url = f"sqlite:///{tmp_path / 'modemgate.db'}"
    first = DatabaseLock.for_url(url)
    assert first is not None
    first.acquire()
    second = DatabaseLock.for_url(url)
    assert second is not None
    with pytest.raises(AlreadyRunning) as refused:
        second.acquire()
    message = str(refused.value)
    assert "modemgate.db is in use by another gateway (pid " in message and "\n" not in message
    first.release()
    second.acquire()  # free again
    second.release()


def test_a_lock_left_by_a_killed_process_does_not_block_a_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'modemgate.db'}"
    holder_code = (
        "import os, signal; from gateway.core.ownership import DatabaseLock; "
        f"DatabaseLock.for_url({url!r}).acquire(); os.kill(os.getpid(), signal.SIGKILL)"
    )
    killed = subprocess.run([sys.executable, "-c", holder_code], timeout=60)
    assert killed.returncode == -9
    assert (tmp_path / "modemgate.db.lock").exists()  # left behind, with the dead pid in it
    lock = DatabaseLock.for_url(url)
    assert lock is not None
    lock.acquire()
    lock.release()


def test_postgresql_and_in_memory_sqlite_have_no_lock_file():
    assert DatabaseLock.for_url("postgresql+psycopg://u@h/db") is None
    assert DatabaseLock.for_url("sqlite://") is None
    assert DatabaseLock.for_url("sqlite:///:memory:") is None


def test_a_gateway_claims_nothing_for_a_modem_whose_lease_it_no_longer_holds(engine, clock):
    with session(engine) as s:
        outbox.submit(s, api_key_id=None, recipient="+31612345678", text="hi", now=clock.now())
    store = OutboxWorkStore(engine, clock, owns=lambda modem_id: modem_id == "m1")
    assert asyncio.run(store.claim("m2")) == []  # taken by another gateway meanwhile
    assert len(asyncio.run(store.claim("m1"))) == 1
