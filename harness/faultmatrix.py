"""The fault matrix: one simulated fault per case, mixed traffic over three modems, and
what every message and the faulty modem ended as.

One source of truth for `tests/reliability` (nine messages per case, must come out
right) and `bench/faults.py` (more traffic, a table for BENCHMARKS.md).

A run, per case:

1. the real app and gateway in this process (`api.app.create_app`, the gateway started
   in its lifespan), three in-process simulated modems (`sim://`) on a fresh SQLite
   file, background loops and modem time limits shortened (`TIMING`);
2. the fault set on `sim1` through `POST /v1/simulator/faults`, before any traffic;
3. the traffic submitted through `POST /v1/messages` while `sim2` and `sim3` are
   disabled, so that `sim1` certainly meets the fault; they are enabled once `sim1` has
   finished (or failed) a first attempt, and, where the case expects it to end faulty,
   once it is (or after 3 s);
4. wait until every message has settled. Retries wait for the outbox's backoff (30 s,
   then doubling); whenever nothing is being sent and the next retry lies ahead, the
   gateway's wall clock is moved forward to it (`FastForwardClock`) instead of waiting;
5. read every message (`GET /v1/messages/{id}`), the modems (`GET /v1/modems`) and
   what the simulated network received (`GET /v1/simulator/network`).

`check` then lists what is wrong with the outcome; a correct run lists nothing.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from drivers.at.errors import CMS_ERRORS, Action
from gateway.campaigns.wiring import marketing
from gateway.core import apikeys
from gateway.core.clock import SystemClock
from gateway.core.db import session
from gateway.core.models import Message, Part
from gateway.core.runtime import Gateway, Timing
from gateway.core.settings import ModemSettings, Settings

__all__ = ["CASES", "FaultCase", "Outcome", "check", "mixed_traffic", "run_case", "FAULTY", "MODEMS"]

MODEMS = ("sim1", "sim2", "sim3")
FAULTY = "sim1"  # the modem every case breaks

# Loops shortened so a case runs in a second or two. The modem time limits stay well
# above what a loaded 2-core machine needs to answer, so a healthy modem never times out.
TIMING = Timing(
    idle_poll=0.05,
    health_interval=0.3,
    storage_poll=1.0,
    webhook_poll=0.5,
    command_timeout=1.5,
    send_timeout=3.0,
    reconnect_initial=0.1,
    reconnect_max=0.5,
)

Reports = Literal["delivered", "permanent", "temporary", "none"]

# TP-ST of the simulated network's status reports (drivers/simulator/network.py).
_TP_ST = {"delivered": 0x00, "temporary": 0x30, "permanent": 0x41}


@dataclass(frozen=True)
class FaultCase:
    """A fault on `FAULTY` and what a correct gateway makes of it.

    - `failed_error`: messages may end `failed`, and then only with this in their error
      (a permanent error of the message); None: none may fail for a send error.
    - `reports`: how the network reports on what the faulty modem sends; a message sent
      through it ends `delivered` (delivered), `failed` with every part failed by its report
      (permanent), or stays `sent` with each part's report temporary (temporary) or absent
      (none).
    - `modem_state`: the faulty modem at the end, as GET /v1/modems shows it; "faulty"
      for a fault of the modem, "ready" (and never seen faulty) when the modem is fine and
      the fault is the message's or the network's; None when either may be right.
    - `registration`: what GET /v1/modems shows as its registration, when that is the fault.
    - `open_issue`: the gateway does not yet do what this case expects (left out of the
      test suite until fixed; the benchmark still runs it and shows what happens).
    """

    id: str
    fault: str
    faults: dict[str, Any]
    failed_error: str | None = None
    reports: Reports = "delivered"
    modem_state: Literal["faulty", "ready"] | None = "ready"
    registration: str | None = None
    sends: bool = False  # the faulty modem still sends (the fault is only in the way)
    open_issue: str | None = None


def _cms(code: int, action: Action, on_send: int = 2) -> dict[str, Any]:
    """Every send from the `on_send`-th on answers `+CMS ERROR: code` (the first one going
    through means a multipart message is cut after its first part)."""
    assert CMS_ERRORS[code].action is action, f"CMS {code} is {CMS_ERRORS[code].action}, not {action}"
    return {"cms_error": code, "cms_error_on_send": on_send, "cms_error_count": 0}


CASES: tuple[FaultCase, ...] = (
    FaultCase(
        "cms42-congestion",
        "CMS 42 Congestion (retry_same), every send",
        _cms(42, Action.RETRY_SAME),
    ),
    FaultCase(
        "cms38-network-out-of-order",
        "CMS 38 Network out of order (retry_other_modem), every send",
        _cms(38, Action.RETRY_OTHER_MODEM),
        modem_state=None,
    ),
    FaultCase(
        "cms1-unassigned-number",
        "CMS 1 Unassigned number (permanent), every send",
        _cms(1, Action.PERMANENT),
        failed_error="+CMS ERROR: 1",
    ),
    FaultCase(
        "cms300-me-failure",
        "CMS 300 ME failure (modem_fault), every send",
        _cms(300, Action.MODEM_FAULT),
        modem_state="faulty",
    ),
    FaultCase(
        "cms500-unknown-error",
        "CMS 500 Unknown error (vague: modem_fault when repeated), every send",
        _cms(500, Action.RETRY_SAME),
        modem_state="faulty",
    ),
    FaultCase("hang", "hang: reads, never answers", {"hang": True}, modem_state="faulty"),
    FaultCase("disconnect", "disconnect: port gone (USB drop-out)", {"disconnect": True}, modem_state="faulty"),
    FaultCase("garbage", "garbage: line noise before every answer", {"garbage": "\x00\xff\x13~\x7f"}, sends=True),
    FaultCase("pin-required", "PIN required again (SIM reset)", {"pin_required": True}, modem_state="faulty"),
    FaultCase(
        "no-registration",
        "no registration (CMS 331 on send)",
        {"no_registration": True},
        modem_state="faulty",
        registration="not_registered",
    ),
    FaultCase("report-none", "no status report", {"report": "none"}, reports="none", sends=True),
    FaultCase(
        "report-permanent",
        "failed status report (TP-ST 0x41)",
        {"report": "permanent"},
        reports="permanent",
        sends=True,
    ),
    FaultCase(
        "report-temporary",
        "temporary status report (TP-ST 0x30)",
        {"report": "temporary"},
        reports="temporary",
        sends=True,
    ),
    FaultCase(
        "slow-network",
        "slow network: 0.15 s per submit, 0.03 s per answer",
        {"submit_delay": 0.15, "slow": 0.03},
        sends=True,
    ),
)


def mixed_traffic(n: int, *, tag: str = "") -> list[tuple[str, str]]:
    """`n` (to, text), a third each multipart GSM-7, multipart UCS-2 and single GSM-7; the
    first is multipart, so a fault on the second send cuts a message in two. Every
    message has its own recipient and text."""
    out = []
    for i in range(n):
        to = f"+3165{i:07d}"
        kind = i % 3
        if kind == 0:
            text = f"{tag}{i}: " + " ".join(f"word{j}" for j in range(30 + i % 20))  # 2 parts
        elif kind == 1:
            text = f"{tag}{i}: Привет 😀 " + "добрый день 🎉 " * (5 + i % 4)  # 2-3 UCS-2 parts
        else:
            text = f"{tag}{i}: your code is {1000 + i} {{ok}} €"
        out.append((to, text))
    return out


# --- running a case -------------------------------------------------------------------


class FastForwardClock(SystemClock):
    """The system clock, whose wall time the run moves forward over idle waits (pacing,
    which reads `monotonic`, is left alone)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Outcome:
    """What one case ended as, read through the API."""

    case: FaultCase
    messages: list[dict[str, Any]]  # GET /v1/messages/{id}, in submission order
    modems: dict[str, dict[str, Any]]  # GET /v1/modems by id
    states_seen: list[str]  # the faulty modem's states as polled, changes only
    network: list[dict[str, Any]]  # messages the simulated network received whole
    settled: bool  # every message reached its end state before the deadline
    seconds: float
    skipped: float  # seconds of backoff skipped by moving the clock

    def by_status(self) -> Counter[str]:
        return Counter(m["status"] for m in self.messages)

    @property
    def stuck(self) -> int:
        return sum(1 for m in self.messages if m["status"] in ("queued", "sending"))

    @property
    def retries(self) -> int:
        """Attempts beyond each message's first."""
        return sum(max(0, m["attempts"] - 1) for m in self.messages)

    def failed_reasons(self) -> Counter[str]:
        return Counter((m["last_error"] or "?") for m in self.messages if m["status"] == "failed")


def run_case(
    case: FaultCase, n: int = 9, *, timeout: float = 30.0, workdir: Path | None = None, port_query: str = ""
) -> Outcome:
    """Run `case` with `n` messages; see the module docstring. `port_query` is added to
    each `sim://` port: `?profile=huawei-e3372&noise_every=0.05` runs it on chatty modems."""
    with tempfile.TemporaryDirectory(prefix="faultmatrix-", dir=workdir) as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'modemgate.db'}",
            default_region="NL",
            modems=[
                ModemSettings(id=m, port=f"sim://{m}{port_query}", sends_per_minute=600, burst=10, daily_cap=0)
                for m in MODEMS
            ],
        )
        clock = FastForwardClock()
        gateway = Gateway(settings, clock=clock, timing=TIMING, extensions=marketing(settings))
        app = create_app(settings, gateway=gateway)
        try:
            with TestClient(app) as client:
                return _Run(client, gateway, clock, case, n, timeout).go()
        finally:
            gateway.engine.dispose()


@dataclass
class _Run:
    client: TestClient
    gateway: Gateway
    clock: FastForwardClock
    case: FaultCase
    n: int
    timeout: float
    headers: dict[str, str] = field(default_factory=dict)
    states: list[str] = field(default_factory=list)

    def go(self) -> Outcome:
        with session(self.gateway.engine) as s:
            new, _ = apikeys.create(s, "fault matrix", apikeys.SCOPES)  # it changes modems and faults
            s.commit()
        self.headers = {"Authorization": f"Bearer {new.key}"}
        self._until(lambda: all(m["state"] == "ready" for m in self.modems().values()), 10, "modems ready")

        started = time.monotonic()
        for other in MODEMS:
            if other != FAULTY:
                self._call("PATCH", f"/v1/modems/{other}", json={"enabled": False})
        self._call("POST", "/v1/simulator/faults", json={"modem": FAULTY, **self.case.faults})
        ids = [
            self._call("POST", "/v1/messages", json={"to": to, "text": text}, status=202)["id"]
            for to, text in mixed_traffic(self.n)
        ]
        self._until(self._faulty_tried, 10, f"{FAULTY} to finish or fail a first attempt")
        if self.case.modem_state == "faulty":
            # A refusal that sends the message elsewhere takes the modem out at its second
            # time in a row: let it meet the fault again before the others (which claim a
            # second's worth of messages at once) have taken all the traffic.
            self._wait(lambda: self.gateway.workers[FAULTY].status.state == "faulty", 3.0)
        for other in MODEMS:
            if other != FAULTY:
                self._call("PATCH", f"/v1/modems/{other}", json={"enabled": True})
        settled = self._settle(ids, started + self.timeout)
        seconds = time.monotonic() - started
        self._note_state()
        network = self._call("GET", "/v1/simulator/network")["messages"]
        return Outcome(
            case=self.case,
            messages=[self._call("GET", f"/v1/messages/{i}") for i in ids],
            modems=self.modems(),
            states_seen=self.states,
            network=network,
            settled=settled,
            seconds=seconds,
            skipped=self.clock.offset.total_seconds(),
        )

    # --- API --------------------------------------------------------------------------

    def _call(self, method: str, url: str, *, status: int = 200, **kwargs: Any) -> Any:
        response = self.client.request(method, url, headers=self.headers, **kwargs)
        if response.status_code != status:
            raise AssertionError(f"{method} {url}: {response.status_code} {response.text[:300]}")
        return response.json()

    def modems(self) -> dict[str, dict[str, Any]]:
        return {m["id"]: m for m in self._call("GET", "/v1/modems")}

    def _note_state(self) -> None:
        # The worker's status is what GET /v1/modems shows; read directly, as the run polls it often.
        state = self.gateway.workers[FAULTY].status.state
        if not self.states or self.states[-1] != state:
            self.states.append(state)

    def _faulty_tried(self) -> bool:
        self._note_state()
        st = self.gateway.workers[FAULTY].status
        return st.state == "faulty" or st.sent_messages + st.retried + st.failed + st.faults > 0

    def _wait(self, predicate: Any, timeout: float) -> None:
        """Wait up to `timeout` for `predicate`; go on either way (`check` judges the end)."""
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            self._note_state()
            time.sleep(0.02)

    def _until(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.case.id}: timed out waiting for {what}; {FAULTY}: {self.modems()[FAULTY]}")
            time.sleep(0.02)

    # --- settling ---------------------------------------------------------------------

    def _settle(self, ids: list[str], deadline: float) -> bool:
        """Wait until every message is in its end state; move the clock over idle backoff."""
        while True:
            self._note_state()
            rows = self._rows(ids)
            if all(self._ended(r) for r in rows.values()):
                return True
            if time.monotonic() > deadline:
                return False
            statuses = {r["status"] for r in rows.values()}
            due = [r["next_attempt_at"] for r in rows.values() if r["status"] == "queued"]
            now = self.clock.now()
            if "sending" not in statuses and due and min(due) > now:
                # Nothing in flight, every retry waits for its backoff: skip to the first.
                self.clock.offset += min(due) - now + timedelta(milliseconds=1)
                self.gateway.wake()
            time.sleep(0.05)

    def _rows(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Status, modem, next attempt and current parts of each message, from the store."""
        with self.gateway.engine.connect() as conn:
            messages = conn.execute(
                sa.select(Message.id, Message.status, Message.modem_id, Message.next_attempt_at).where(
                    Message.id.in_(ids)
                )
            ).all()
            parts = conn.execute(
                sa.select(Part.message_id, Part.status, Part.report_status)
                .join(Message, sa.and_(Message.id == Part.message_id, Message.generation == Part.generation))
                .where(Message.id.in_(ids))
            ).all()
        rows = {
            m.id: {"status": m.status, "modem": m.modem_id, "next_attempt_at": m.next_attempt_at, "parts": []}
            for m in messages
        }
        for p in parts:
            rows[p.message_id]["parts"].append((p.status, p.report_status))
        return rows

    def _ended(self, row: dict[str, Any]) -> bool:
        status, parts = row["status"], row["parts"]
        if status in ("queued", "sending"):
            return False
        via_faulty = row["modem"] == FAULTY
        reports = self.case.reports if via_faulty else "delivered"
        if reports == "none":
            return status in ("sent", "delivered", "failed", "expired")
        if status == "failed" and reports == "delivered":
            return True  # failed by a send error: no report to wait for
        if status == "sent" and reports != "temporary":
            return False  # its reports are still to come
        # Every part has its report (a message fails at its first failed part).
        return all(rs is not None for _, rs in parts)


# --- judging an outcome ---------------------------------------------------------------


def check(outcome: Outcome) -> list[str]:
    """What is wrong with `outcome` for its case; empty when every message and modem ended right."""
    case = outcome.case
    problems: list[str] = []
    if not outcome.settled:
        problems.append("did not settle before the deadline")
    received = Counter((m["recipient"], m["text"]) for m in outcome.network)
    for m in outcome.messages:
        parts = f"{m['parts_total']} part{'s' if m['parts_total'] != 1 else ''}"
        where = f"message {m['id']} ({m['status']}, {parts}, via {m['modem']})"
        times = received[(m["to"], m["text"])]
        reports = case.reports if m["modem"] == FAULTY else "delivered"
        status = m["status"]
        if status in ("queued", "sending"):
            problems.append(f"{where}: stuck")
        elif status == "failed" and reports != "permanent":
            # Only a permanent error of the message may fail it, and it never went out whole.
            if case.failed_error is None or case.failed_error not in (m["last_error"] or ""):
                problems.append(f"{where}: failed with {m['last_error']!r}; expected {_end(reports)}")
            elif times:
                problems.append(f"{where}: failed, yet the network received it whole")
        elif status != _end(reports):
            problems.append(f"{where}: expected {_end(reports)}")
        else:
            problems += _check_parts(m, reports, where)
            if reports == "permanent" and "0x41" not in (m["last_error"] or ""):
                problems.append(f"{where}: failed without its report's reason (last error {m['last_error']!r})")
            if times != 1:  # a message cut short by a fault goes again whole, once
                problems.append(f"{where}: the network received it whole {times} times")
    if case.failed_error is not None and not any(m["status"] == "failed" for m in outcome.messages):
        problems.append(f"no message failed with {case.failed_error!r}: the fault was never met")
    if case.reports != "delivered" and not any(m["modem"] == FAULTY for m in outcome.messages):
        problems.append(f"no message went through {FAULTY}: the fault was never met")
    return problems + _check_modems(outcome)


_END = {"delivered": "delivered", "permanent": "failed", "temporary": "sent", "none": "sent"}


def _end(reports: Reports) -> str:
    """Status of a message, and of each of its parts, under these reports."""
    return _END[reports]


def _check_parts(m: dict[str, Any], reports: Reports, where: str) -> list[str]:
    problems = []
    want_report = _TP_ST.get(reports)
    for p in m["parts"]:
        if p["status"] != _end(reports) or p["report_status"] != want_report or p["modem"] != m["modem"]:
            problems.append(
                f"{where}: part {p['seq']} {p['status']} via {p['modem']}, report {p['report_status']}; "
                f"expected {_end(reports)} via {m['modem']}, report {want_report}"
            )
        elif reports == "permanent" and f"0x{want_report:02X}" not in (p["error"] or ""):
            problems.append(f"{where}: part {p['seq']} failed without its report's reason ({p['error']!r})")
    return problems


def _check_modems(outcome: Outcome) -> list[str]:
    case = outcome.case
    problems = []
    faulty = outcome.modems[FAULTY]
    c = faulty["counters"]
    if case.modem_state is not None and faulty["state"] != case.modem_state:
        problems.append(
            f"{FAULTY} ends {faulty['state']} (seen {' > '.join(outcome.states_seen)}), "
            f"expected {case.modem_state}; last error {faulty['last_error']!r}"
        )
    if case.modem_state == "faulty" and not faulty["last_error"]:
        problems.append(f"{FAULTY} is faulty without a last error")
    if case.modem_state == "ready" and "faulty" in outcome.states_seen:
        seen = " > ".join(outcome.states_seen)
        problems.append(f"{FAULTY} was shown faulty (seen {seen}) for a fault that is not the modem's")
    if case.registration is not None and faulty["registration"] != case.registration:
        problems.append(f"{FAULTY} shows registration {faulty['registration']!r}, expected {case.registration!r}")
    met = c["sent_messages"] if case.sends else c["retried"] + c["failed"] + c["faults"]
    if not met:
        problems.append(f"{FAULTY} never met the fault: counters {c}")
    for modem_id, m in outcome.modems.items():
        if modem_id != FAULTY and (m["state"] != "ready" or m["counters"]["faults"]):
            faults = m["counters"]["faults"]
            problems.append(f"{modem_id} (healthy) ends {m['state']} with {faults} faults: {m['last_error']!r}")
    return problems
