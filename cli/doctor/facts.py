"""Gathering what the doctor's checks look at: the I/O side (files, /proc, the modems, the
database, DNS, the clock). Each source is a parameter, so tests give fakes."""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
import shutil
import socket
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from cli.doctor.checks import DatabaseFacts, Facts, Holder, ModemFacts, PortFacts
from gateway.core.settings import ModemSettings, Settings

__all__ = [
    "Account",
    "may_read_write",
    "gather",
    "port_facts",
    "holders_of",
    "processes_named",
    "by_id_aliases",
    "probe_modem",
    "database_facts",
    "locate_imei",
]

BY_ID = Path("/dev/serial/by-id")


def gather(
    settings: Settings,
    *,
    proc: Path = Path("/proc"),
    by_id: Path = BY_ID,
    probe: Callable[[ModemSettings], ModemFacts] | None = None,
    disk_free: Callable[[Path], int] = lambda p: shutil.disk_usage(p).free,
    resolve: Callable[[str], list[str]] | None = None,
    locate: Callable[[str], str | None] | None = None,
    now: datetime | None = None,
    user: str | None = None,
) -> Facts:
    """The facts for `settings`, the ports judged for `user` (default: who runs this). An
    `imei:` port is looked for as `serve` looks for it (`locate`: IMEI → port, by default
    over the serial ports present) and, when found, judged as that device."""
    modems = [_located(m, locate or locate_imei) for m in settings.effective_modems()]
    account = account_of(user)
    aliases = by_id_aliases(by_id)
    held = holders_of([m.port for m in modems if _kind(m.port) == "device"], proc=proc)
    ports = tuple(port_facts(m, aliases=aliases, holders=held.get(_real(m.port), ()), account=account) for m in modems)
    probing = probe or probe_modem
    answered = tuple(
        probing(m)
        for m, p in zip(modems, ports, strict=True)
        if p.kind in ("device", "network") and p.exists and p.accessible and not p.holders
    )
    host = urlsplit(settings.public_url).hostname or ""
    return Facts(
        user=account.name,
        ports=ports,
        modems=answered,
        database=database_facts(settings.database_url, disk_free=disk_free),
        public_url=settings.public_url,
        public_addresses=tuple((resolve or _resolve)(host)) if host else (),
        now=now or datetime.now(UTC),
        not_before=_installed_at(),
        modem_manager=processes_named("ModemManager", proc=proc),
    )


def locate_imei(imei: str) -> str | None:
    """The serial port present whose modem answers AT+CGSN with `imei`, or None."""
    from drivers.at.locate import find_by_imei, serial_ports

    return asyncio.run(find_by_imei(imei, serial_ports()))


def _located(modem: ModemSettings, locate: Callable[[str], str | None]) -> ModemSettings:
    if _kind(modem.port) != "imei":
        return modem
    found = locate(modem.port.removeprefix("imei:"))
    return modem if found is None else modem.model_copy(update={"port": found})


@dataclass(frozen=True)
class Account:
    """A user as the kernel checks a device node's mode against it."""

    name: str
    uid: int
    gids: frozenset[int]


def port_facts(
    modem: ModemSettings, *, aliases: dict[str, str], holders: Iterable[Holder] = (), account: Account | None = None
) -> PortFacts:
    kind = _kind(modem.port)
    if kind != "device":
        return PortFacts(modem.id, modem.port, kind)
    path = Path(modem.port)
    try:
        info = path.stat()
    except OSError:
        return PortFacts(modem.id, modem.port, kind, exists=False)
    group = _group_name(info.st_gid)
    who = account or account_of(None)
    return PortFacts(
        modem.id,
        modem.port,
        kind,
        char_device=stat.S_ISCHR(info.st_mode),
        accessible=may_read_write(info.st_mode, info.st_uid, info.st_gid, who),
        group=group,
        in_group=info.st_gid in who.gids,
        stable_alias=aliases.get(_real(modem.port)),
        holders=tuple(holders),
    )


def may_read_write(mode: int, uid: int, gid: int, account: Account) -> bool:
    """Whether `account` may open a node of this mode and owner for reading and writing
    (root may; else the owner's, the group's or the others' bits, the first that applies)."""
    if account.uid == 0:
        return True
    if account.uid == uid:
        bits = (mode >> 6) & 0o7
    elif gid in account.gids:
        bits = (mode >> 3) & 0o7
    else:
        bits = mode & 0o7
    return bits & 0o6 == 0o6


def holders_of(ports: Iterable[str], *, proc: Path = Path("/proc")) -> dict[str, tuple[Holder, ...]]:
    """Other processes with one of `ports` open, by the port's real path (from the fd links
    of every process in `proc`; processes of other users are seen only as root)."""
    wanted = {_real(p) for p in ports}
    found: dict[str, list[Holder]] = {}
    me = os.getpid()
    for pid_dir in _pids(proc):
        pid = int(pid_dir.name)
        if pid == me:
            continue
        try:
            links = {os.readlink(fd) for fd in (pid_dir / "fd").iterdir()}
        except OSError:
            continue  # gone, or not ours to read
        for target in links & wanted:
            found.setdefault(target, []).append(Holder(pid, _comm(pid_dir)))
    return {k: tuple(v) for k, v in found.items()}


def processes_named(name: str, *, proc: Path = Path("/proc")) -> tuple[Holder, ...]:
    return tuple(Holder(int(d.name), name) for d in _pids(proc) if _comm(d) == name)


def by_id_aliases(by_id: Path = BY_ID) -> dict[str, str]:
    """Real device path → its /dev/serial/by-id name."""
    try:
        return {os.path.realpath(link): str(link) for link in sorted(by_id.iterdir())}
    except OSError:
        return {}


def probe_modem(modem: ModemSettings, *, timeout: float = 3.0) -> ModemFacts:
    """Ask the modem on its port what `modems probe` asks; a silent port is `answered=False`."""
    from drivers import ModemgateError
    from drivers.at.modem import ModemConfig, open_modem
    from drivers.at.probe import probe

    async def ask() -> ModemFacts:
        device = await open_modem(modem.port, ModemConfig(command_timeout=timeout, hang_after=2))
        try:
            info = await probe(device, pin=modem.pin)
        finally:
            await device.close()
        return ModemFacts(
            modem.id,
            pin_configured=modem.pin is not None,
            answered=True,
            pin=info["pin"],
            registration=info["registration"],
            rssi=info["signal_rssi"],
            smsc=info["smsc"],
            smsc_configured=modem.smsc is not None,
        )

    try:
        return asyncio.run(asyncio.wait_for(ask(), timeout * 4))
    except (ModemgateError, OSError, TimeoutError) as exc:
        return ModemFacts(modem.id, pin_configured=modem.pin is not None, answered=False, error=str(exc) or "timeout")


def database_facts(database_url: str, *, disk_free: Callable[[Path], int]) -> DatabaseFacts:
    """Whether a write transaction commits (nothing is changed), and the free space beside a
    SQLite file."""
    import sqlalchemy as sa

    from gateway.core.backup import sqlite_path
    from gateway.core.db import create_engine_for

    where = sa.engine.make_url(database_url).render_as_string(hide_password=True)
    path = sqlite_path(database_url)
    free = None
    if path is not None:
        folder = path.parent if path.parent.exists() else Path.cwd()
        free = disk_free(folder)
        if not path.exists():  # made at the first start: the folder must take it
            if os.access(folder, os.W_OK):
                return DatabaseFacts(where, True, None, free)
            return DatabaseFacts(where, False, f"{folder} is not writable", free)
    engine = create_engine_for(database_url)
    try:
        with engine.connect() as conn:
            if path is not None and not os.access(path, os.W_OK):
                return DatabaseFacts(where, False, f"{path} is read-only for this user", free)
            with conn.begin() as tx:
                # A real write to the database (not a temporary table), rolled back.
                if sa.inspect(conn).has_table("alembic_version"):
                    conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
                else:
                    conn.exec_driver_sql("CREATE TABLE doctor_probe (x INTEGER)")
                tx.rollback()
    except Exception as exc:  # any failure to write is the verdict, in one line
        return DatabaseFacts(where, False, str(exc).splitlines()[0], free)
    finally:
        engine.dispose()
    return DatabaseFacts(where, True, None, free)


def account_of(user: str | None) -> Account:
    if user is None:
        entry = pwd.getpwuid(os.geteuid())
        return Account(entry.pw_name, os.geteuid(), frozenset({*os.getgroups(), os.getegid()}))
    entry = pwd.getpwnam(user)  # KeyError: no such user
    return Account(user, entry.pw_uid, frozenset(os.getgrouplist(user, entry.pw_gid)))


def _kind(port: str) -> Literal["device", "network", "simulated", "imei"]:
    if port.startswith("sim://"):
        return "simulated"
    if port.startswith("imei:"):
        return "imei"
    if "://" in port:
        return "network"
    return "device"


def _real(port: str) -> str:
    return os.path.realpath(port)


def _pids(proc: Path) -> list[Path]:
    try:
        return [d for d in proc.iterdir() if d.name.isdigit()]
    except OSError:
        return []


def _comm(pid_dir: Path) -> str:
    try:
        return (pid_dir / "comm").read_text().strip()
    except OSError:
        return "?"


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _resolve(host: str) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except OSError:
        return []


def _installed_at() -> datetime:
    """The newest time among the installed package's files: the clock is not earlier."""
    here = Path(__file__).resolve().parent.parent
    newest = max(f.stat().st_mtime for f in here.glob("*.py"))
    return datetime.fromtimestamp(newest, UTC)
