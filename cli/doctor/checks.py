"""The doctor's checks: pure functions from gathered facts (cli.doctor.facts) to verdicts,
each one line with the fix. A `fail` blocks sending; a `warn` will bite later."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = [
    "Level",
    "Verdict",
    "Holder",
    "PortFacts",
    "ModemFacts",
    "DatabaseFacts",
    "Facts",
    "CHECKS",
    "diagnose",
    "blocking",
    "MIN_FREE_BYTES",
    "LOW_FREE_BYTES",
]

Level = Literal["ok", "warn", "fail"]
MIN_FREE_BYTES = 16 * 1024 * 1024  # below this, SQLite's next growth may fail: sending stops
LOW_FREE_BYTES = 512 * 1024 * 1024
WEAK_RSSI = 10  # AT+CSQ below this (about -93 dBm): sends time out and retry


@dataclass(frozen=True)
class Verdict:
    check: str
    level: Level
    message: str
    fix: str = ""

    def line(self) -> str:
        tag = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[self.level]
        return f"[{tag}] {self.check}: {self.message}" + (f" — fix: {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class Holder:
    """Another process that has a port open."""

    pid: int
    name: str


@dataclass(frozen=True)
class PortFacts:
    modem_id: str
    port: str  # as configured
    kind: Literal["device", "network", "simulated", "imei"]  # imei: found among the ports at start
    exists: bool = True
    char_device: bool = True
    accessible: bool = True  # read and write for the user the gateway runs as
    group: str | None = None  # the device node's group (dialout, uucp)
    in_group: bool = True
    stable_alias: str | None = None  # a /dev/serial/by-id name of the same device
    holders: tuple[Holder, ...] = ()


@dataclass(frozen=True)
class ModemFacts:
    modem_id: str
    pin_configured: bool
    answered: bool
    error: str | None = None
    pin: str | None = None  # READY, SIM PIN, SIM PUK …
    registration: str | None = None
    rssi: int | None = None
    smsc: str | None = None
    smsc_configured: bool = False


@dataclass(frozen=True)
class DatabaseFacts:
    where: str  # the database, without a password
    writable: bool
    error: str | None = None
    free_bytes: int | None = None  # on the database's file system (SQLite)


@dataclass(frozen=True)
class Facts:
    user: str
    ports: tuple[PortFacts, ...]
    modems: tuple[ModemFacts, ...]
    database: DatabaseFacts
    public_url: str
    public_addresses: tuple[str, ...]  # what public_url's host resolves to
    now: datetime
    not_before: datetime  # the clock cannot be earlier than this (the installed files' time)
    modem_manager: tuple[Holder, ...] = field(default=())


def diagnose(facts: Facts) -> list[Verdict]:
    return [v for check in CHECKS for v in check(facts)]


def blocking(verdicts: Iterable[Verdict]) -> bool:
    return any(v.level == "fail" for v in verdicts)


# --- the checks, one per concern --------------------------------------------------------


def ports(facts: Facts) -> list[Verdict]:
    out = []
    for p in facts.ports:
        name = f"port {p.modem_id}"
        if p.kind == "imei":
            out.append(  # gather() replaces a found one by its device: this one answered nowhere
                Verdict(
                    name,
                    "fail",
                    f"{p.port}: no serial port present answers AT+CGSN with this IMEI",
                    "plug the modem in (or free its port); `modemgate modems scan` lists ports and their IMEIs",
                )
            )
            continue
        if p.kind != "device":
            out.append(Verdict(name, "ok", f"{p.port} ({p.kind}, no device node)"))
            continue
        if not p.exists:
            out.append(
                Verdict(
                    name, "fail", f"{p.port} does not exist", "plug the modem in; `modemgate modems scan` lists ports"
                )
            )
        elif not p.char_device:
            out.append(Verdict(name, "fail", f"{p.port} is not a serial device", "point port at the modem's tty"))
        elif not p.accessible:
            group = p.group or "dialout"
            how = (
                f"sudo usermod -aG {group} {facts.user} (then log in again; the systemd unit has "
                f"SupplementaryGroups={group})"
                if not p.in_group
                else f'check the node\'s mode: sudo chmod g+rw {p.port}, or a udev rule with GROUP="{group}"'
            )
            out.append(Verdict(name, "fail", f"{p.port} is not readable and writable by {facts.user}", how))
        else:
            out.append(Verdict(name, "ok", f"{p.port} readable and writable by {facts.user}"))
    return out


def holders(facts: Facts) -> list[Verdict]:
    out = []
    for p in facts.ports:
        if p.kind != "device" or not p.exists:
            continue
        name = f"port {p.modem_id} free"
        if not p.holders:
            out.append(Verdict(name, "ok", "no other process has it open"))
            continue
        who = ", ".join(f"pid {h.pid} ({h.name})" for h in p.holders)
        if any(h.name == "ModemManager" for h in p.holders):
            fix = (
                "sudo systemctl disable --now ModemManager, or keep it off this modem with a udev rule "
                'ENV{ID_MM_DEVICE_IGNORE}="1" (docs/deployment.md)'
            )
        else:
            fix = f"stop {who} (a second gateway, minicom, gammu-smsd?) before starting modemgate"
        out.append(Verdict(name, "fail", f"{p.port} is held by {who}", fix))
    if facts.modem_manager and not any(
        h.name == "ModemManager" for p in facts.ports for h in p.holders
    ):  # running, not holding a port yet: it may on the next replug
        out.append(
            Verdict(
                "ModemManager",
                "warn",
                f"running (pid {facts.modem_manager[0].pid}); it probes new modems and may grab their ports",
                'a udev rule ENV{ID_MM_DEVICE_IGNORE}="1" for the modems, or sudo systemctl disable --now ModemManager',
            )
        )
    return out


def stable_names(facts: Facts) -> list[Verdict]:
    out = []
    for p in facts.ports:
        if p.kind != "device" or not p.exists:
            continue
        name = f"port {p.modem_id} name"
        if p.port.startswith(("/dev/serial/by-id/", "/dev/serial/by-path/")):
            out.append(Verdict(name, "ok", "stable across reboots and replugs"))
        else:
            fix = f'port = "{p.stable_alias}"' if p.stable_alias else "use its /dev/serial/by-id/ name"
            out.append(Verdict(name, "warn", f"{p.port} may name another device after a reboot or replug", fix))
    return out


def modems(facts: Facts) -> list[Verdict]:
    out = []
    for m in facts.modems:
        name = f"modem {m.modem_id}"
        if not m.answered:
            out.append(
                Verdict(
                    name,
                    "fail",
                    f"does not answer AT ({m.error or 'no answer'})",
                    "a stick has several ports and only one speaks AT: `modemgate modems scan` finds it",
                )
            )
            continue
        out.append(Verdict(name, "ok", "answers AT"))
        out.extend(_sim(m))
    return out


def _sim(m: ModemFacts) -> list[Verdict]:
    out = []
    if m.pin == "READY":
        out.append(Verdict(f"modem {m.modem_id} PIN", "ok", "SIM ready"))
    elif m.pin == "SIM PIN":
        fix = (
            "the configured pin is wrong: correct pin" if m.pin_configured else 'add pin = "…" to its [[modems]] block'
        )
        out.append(Verdict(f"modem {m.modem_id} PIN", "fail", "the SIM asks for its PIN", fix))
        return out  # the rest cannot be read while the SIM is locked
    else:
        out.append(
            Verdict(
                f"modem {m.modem_id} PIN",
                "fail",
                f"SIM state {m.pin or 'unknown'}",
                "SIM PUK: unlock it in a phone; no SIM: seat the card",
            )
        )
        return out
    if m.registration in ("home", "roaming"):
        out.append(Verdict(f"modem {m.modem_id} network", "ok", f"registered ({m.registration})"))
    else:
        out.append(
            Verdict(
                f"modem {m.modem_id} network",
                "fail",
                f"not registered ({m.registration or 'unknown'})",
                "check coverage and the antenna; denied: the SIM is not active or barred",
            )
        )
    if m.rssi is None:
        out.append(Verdict(f"modem {m.modem_id} signal", "fail", "no signal", "antenna, or move the modem"))
    elif m.rssi < WEAK_RSSI:
        out.append(
            Verdict(
                f"modem {m.modem_id} signal", "warn", f"weak ({m.rssi}/31)", "an external antenna or a USB extension"
            )
        )
    else:
        out.append(Verdict(f"modem {m.modem_id} signal", "ok", f"{m.rssi}/31"))
    if m.smsc or m.smsc_configured:
        source = "configured" if m.smsc_configured else "on the SIM"
        out.append(Verdict(f"modem {m.modem_id} SMSC", "ok", f"{source}"))
    else:
        out.append(
            Verdict(
                f"modem {m.modem_id} SMSC",
                "fail",
                "no SMS centre on the SIM: every send fails",
                'add smsc = "+…" (your operator\'s SMS centre) to its [[modems]] block',
            )
        )
    return out


def database(facts: Facts) -> list[Verdict]:
    db = facts.database
    out = []
    if not db.writable:
        out.append(
            Verdict(
                "database",
                "fail",
                f"{db.where} cannot be written ({db.error or 'unknown'})",
                "check the file's owner and mode, or the server",
            )
        )
    else:
        out.append(Verdict("database", "ok", f"{db.where} writable"))
    if db.free_bytes is not None:
        free = f"{db.free_bytes / 1024 / 1024:.0f} MB free"
        if db.free_bytes < MIN_FREE_BYTES:
            out.append(Verdict("disk", "fail", f"{free} for the database: new messages cannot be stored", "free space"))
        elif db.free_bytes < LOW_FREE_BYTES:
            out.append(Verdict("disk", "warn", f"{free} for the database", "free space before it fills"))
        else:
            out.append(Verdict("disk", "ok", free))
    return out


def public_url(facts: Facts) -> list[Verdict]:
    loopback = [a for a in facts.public_addresses if ipaddress.ip_address(a).is_loopback]
    if not facts.public_addresses:
        return [
            Verdict(
                "public_url",
                "warn",
                f"{facts.public_url}: its host does not resolve",
                "set public_url to a public name",
            )
        ]
    if loopback and len(loopback) == len(facts.public_addresses):
        return [
            Verdict(
                "public_url",
                "warn",
                f"{facts.public_url} points at this machine's loopback: tracked links in messages will not open",
                'set public_url = "https://sms.example.com" (a name phones can reach)',
            )
        ]
    return [Verdict("public_url", "ok", f"{facts.public_url} resolves outside loopback")]


def clock(facts: Facts) -> list[Verdict]:
    if facts.now < facts.not_before:
        return [
            Verdict(
                "clock",
                "fail",
                f"{facts.now:%Y-%m-%d %H:%M} UTC is before this installation was made",
                "enable time sync: sudo timedatectl set-ntp true (a Pi without RTC starts in the past)",
            )
        ]
    if facts.now.year > facts.not_before.year + 30:
        return [Verdict("clock", "fail", f"{facts.now:%Y-%m-%d} is decades ahead", "sudo timedatectl set-ntp true")]
    return [Verdict("clock", "ok", f"{facts.now:%Y-%m-%d %H:%M} UTC")]


CHECKS: tuple[Callable[[Facts], list[Verdict]], ...] = (
    ports,
    holders,
    stable_names,
    modems,
    database,
    public_url,
    clock,
)
