"""Crash soak: SIGKILL `modemgate serve` again and again while it runs a campaign.

    python -m bench.soak [--mode campaign|messages] [--kills N] [--first-kills N]
                         [--contacts N] [--expansion-batch N] [--seed S] [--latency S]
                         [--max-seconds S] [--database-url URL] [--markdown] [--workdir DIR]

Real processes on this machine: `modemgate simulate` (3 modems on loopback TCP, each
taking `--latency` seconds to answer AT+CMGS, a journal of every part its network
accepts) and `modemgate serve` on a SQLite file, or on a fresh schema of the PostgreSQL
database `--database-url` names.

`--mode campaign` (the default): `--contacts` contacts (mixed names, some outside GSM-7,
a third with a long note in a custom field, so texts are one or two parts, GSM-7 or
UCS-2) are imported as CSV through `POST /v1/contacts/import` with an opt-in, onto a
list; one campaign to that list, its send window the whole day, is reviewed and
scheduled now. The gateway expands the audience into the outbox in committed batches of
`--expansion-batch` contacts and sends. Up to `--first-kills` kills land while the
expansion is unfinished, the rest while the modems send.

`--mode messages`: a client submits `--messages` messages (a third single-part GSM-7,
the rest multipart GSM-7 or UCS-2) through `POST /v1/messages`, each with its own
`Idempotency-Key`; after a connection error or a 5xx it retries the same request with
the same key until it gets its 202. Up to `--submit-kills` kills land while it submits.

Each kill is a seeded random moment after the gateway last came up, and the gateway is
restarted at once. If the modems run out of work before the last kill, another campaign
(or batch) is started. Afterwards the gateway runs until every message is final (or
`--max-seconds` are up).

Also reported: how long a multipart message's first part waited on the network for its
last (a handset holds the fragments meanwhile), and the gateway's own count, from its
log at each start, of parts it knows may have gone twice.

Counted from the database and the simulator's journal:
- lost: campaign mode, audience contacts with no message for the campaign, and messages
  not `delivered` or never whole on the network; messages mode, messages answered 202
  that are not `delivered`, or absent, or never whole on the network. Must be 0.
- campaign mode: messages in the outbox must equal the audience, no contact with two.
  Messages mode: rows for a key beyond the first, or rows no 202 named. Must be 0.
- duplicated parts: journal entries beyond the first of the same part (recipient,
  place in its message, text). At each kill at most one part per modem is between its
  AT+CMGS and the commit of its `+CMGS` answer, so the bound is kills x modems, and
  every duplicated part must be the last part its modem sent before some kill.
Exit status 1 when any of these is off, or fewer kills than asked fitted in the time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench.measures import measured_on
from harness.livegateway import (
    GatewayProcess,
    ModemSpec,
    SimulatorProcess,
    journal_messages,
    mixed_messages,
    part_key,
)
from harness.waiting import wait_until

MODEMS = 3
# What `modemgate serve` logs at start about parts a kill may have left half sent.
UNCERTAIN = re.compile(r"recovered \d+ unfinished messages; (\d+) parts may be sent twice")
FINAL = ("delivered", "failed", "expired", "suppressed")


# --- the client ---------------------------------------------------------------------------


@dataclass
class Submitter:
    """Submits (key, to, text) in a background thread, retrying each until its 202."""

    url: str
    headers: dict[str, str]
    todo: list[tuple[str, str, str]]
    concurrency: int = 4
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> first 202 body
    attempts: int = 0
    connection_errors: int = 0
    server_errors: int = 0
    replayed: int = 0  # 202s answered to a retry for a message an earlier attempt had made
    _thread: threading.Thread | None = None

    def start(self) -> Submitter:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        return self

    @property
    def active(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float) -> None:
        assert self._thread is not None
        self._thread.join(timeout)

    async def _run(self) -> None:
        queue = list(self.todo)
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        async with httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=30, limits=limits) as client:

            async def worker() -> None:
                while queue:
                    key, to, text = queue.pop(0)
                    await self._one(client, key, to, text)

            await asyncio.gather(*(worker() for _ in range(self.concurrency)))

    async def _one(self, client: httpx.AsyncClient, key: str, to: str, text: str) -> None:
        retried = False
        while True:
            self.attempts += 1
            try:
                r = await client.post("/v1/messages", json={"to": to, "text": text}, headers={"Idempotency-Key": key})
            except httpx.TransportError:
                self.connection_errors += 1
            else:
                if r.status_code == 202:
                    self.accepted[key] = r.json()
                    if retried and r.headers.get("Idempotent-Replayed") == "true":
                        self.replayed += 1
                    return
                if r.status_code < 500:
                    raise RuntimeError(f"{key}: {r.status_code} {r.text}")
                self.server_errors += 1
            retried = True
            await asyncio.sleep(0.2)


# --- the database -------------------------------------------------------------------------


@contextlib.contextmanager
def database(url: str | None, workdir: Path) -> Iterator[str]:
    """A SQLite file in `workdir`, or a fresh schema in PostgreSQL `url`, dropped after."""
    if not url:
        yield f"sqlite:///{workdir / 'soak.db'}"
        return
    from harness import pgschema  # the test suite's throw-away schemas, made on the server we are given

    pgschema.POSTGRES_URL = url
    with pgschema.throwaway_schema("mg_soak") as schema_url:
        yield schema_url


def stored_messages(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, idempotency_key, status, parts_total, recipient, text FROM message"))
        return [dict(r._mapping) for r in rows]


# --- the workloads ------------------------------------------------------------------------


class Batches:
    """`--mode messages`: batches through `POST /v1/messages`; its first phase is the submitting."""

    phase = "submission"

    def __init__(self, gw: GatewayProcess, engine: sa.Engine, size: int) -> None:
        self.gw, self.engine, self.size = gw, engine, size
        self.batches: list[Submitter] = []
        self.keys: dict[str, dict[str, Any]] = {}

    def add(self) -> None:
        n = len(self.batches)
        todo = [
            (f"soak-{n}-{i}", to, text)
            for i, (to, text) in enumerate(mixed_messages(self.size, prefix=f"b{n}-", number_base=n * self.size))
        ]
        self.batches.append(Submitter(self.gw.url, self.gw.headers, todo).start())

    def busy(self) -> bool:
        return any(b.active for b in self.batches)

    def settle(self, timeout: float) -> None:
        for b in self.batches:
            b.join(timeout)
        self.keys = {k: m for b in self.batches for k, m in b.accepted.items()}

    def parts_taken(self) -> int:
        return sum(m["parts_total"] for b in self.batches for m in list(b.accepted.values()))

    def all_final(self) -> bool:
        rows = stored_messages(self.engine)
        return len(rows) >= len(self.keys) and all(r["status"] in FINAL for r in rows)

    def figures(self, whole: Counter[tuple[str, str]]) -> dict[str, Any]:
        rows = stored_messages(self.engine)
        by_key = Counter(r["idempotency_key"] for r in rows)
        by_id = {r["id"]: r for r in rows}
        extra = sum(n - 1 for n in by_key.values()) + sum(1 for k in by_key if k not in self.keys)
        lost_absent = lost_status = lost_network = 0
        statuses: Counter[str] = Counter()
        for key, answer in self.keys.items():
            row = by_id.get(answer["id"])
            if row is None or row["idempotency_key"] != key:
                lost_absent += 1
                continue
            statuses[row["status"]] += 1
            if row["status"] != "delivered":
                lost_status += 1
            elif whole[(row["recipient"], row["text"])] == 0:
                lost_network += 1
        out = {
            "batches": len(self.batches),
            "submit_attempts": sum(b.attempts for b in self.batches),
            "connection_errors": sum(b.connection_errors for b in self.batches),
            "server_errors": sum(b.server_errors for b in self.batches),
            "retries_answered_as_replay": sum(b.replayed for b in self.batches),
            "accepted": len(self.keys),
            "stored": len(rows),
            "extra_messages": extra,
            "statuses": dict(statuses),
            "lost": lost_absent + lost_status + lost_network,
            "lost_absent": lost_absent,
            "lost_not_delivered": lost_status,
            "lost_not_whole_in_journal": lost_network,
            "parts_expected": sum(m["parts_total"] for m in self.keys.values()),
        }
        out["load_ok"] = out["lost"] == 0 and extra == 0
        return out


# A third of the audience gets a long note (2 GSM-7 parts), names outside GSM-7 make
# UCS-2 texts (2 parts with the footer), the rest fit one part.
NAMES = ["Anna", "Bob", "Chloé", "Łucja", "Dmitri", "Zoë", "Sven", "Ngozi", "Jürgen", "Ana María", "李娜", "Olivia"]
TEMPLATE = "Hi {{first_name|there}}, order {{order}} is ready for pickup. {{note}}"
LONG_NOTE = (
    "Bring your receipt or the code in this message; the counter is open from nine to six on weekdays "
    "and from ten to four on Saturdays, and we keep it for you for fourteen days."
)


class Campaigns:
    """`--mode campaign`: contacts imported as CSV with consent, then one campaign to them,
    scheduled now; its first phase is the gateway's expansion of the audience into the outbox."""

    phase = "expansion"

    def __init__(self, gw: GatewayProcess, engine: sa.Engine, size: int) -> None:
        self.gw, self.engine, self.size = gw, engine, size
        self.audiences: dict[int, set[str]] = {}  # campaign id -> the numbers it is for
        self.imported = 0

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        r = self.gw.client.request(method, path, **kwargs)
        if r.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r.json()

    def add(self) -> None:
        n = len(self.audiences)
        numbers = [f"+3166{n * self.size + i:07d}" for i in range(self.size)]
        lines = ["number,first_name,order,note"]
        for i, number in enumerate(numbers):
            note = LONG_NOTE if i % 3 == 2 else "See you soon."
            lines.append(f'{number},{NAMES[i % len(NAMES)]},{n}-{1000 + i},"{note}"')
        list_id = self._call("POST", "/v1/lists", json={"name": f"soak {n}"})["id"]
        result = self._call(
            "POST",
            "/v1/contacts/import",
            content="\n".join(lines).encode(),
            headers={"Content-Type": "text/csv"},
            params={"list": list_id, "consent_source": "soak", "consent_proof": "signed up at the counter"},
        )
        if result["errors"]:
            raise RuntimeError(f"import: {result['errors'][:3]}")
        self.imported += result["created"] + result["updated"] + result["unchanged"]
        body = {
            "name": f"Soak {n}",
            "template": TEMPLATE,
            "lists": [list_id],
            "window_start": "00:00",
            "window_end": "24:00",
        }
        campaign_id = self._call("POST", "/v1/campaigns", json=body)["id"]
        review = self._call("POST", f"/v1/campaigns/{campaign_id}/review")
        if review["errors"]:
            raise RuntimeError(f"review: {review['errors']}")
        self._call("POST", f"/v1/campaigns/{campaign_id}/schedule", json={"kind": "now"})
        self.audiences[campaign_id] = set(numbers)

    def _rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT id, campaign_id, contact_id, status, parts_total, recipient, text "
                    "FROM message WHERE campaign_id IS NOT NULL"
                )
            )
            return [dict(r._mapping) for r in rows]

    def _campaigns(self) -> dict[int, tuple[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, status, expanded_at FROM campaign"))
            return {r.id: (r.status, r.expanded_at) for r in rows}

    def busy(self) -> bool:
        return any(expanded is None for _, expanded in self._campaigns().values())

    def settle(self, timeout: float) -> None:
        with contextlib.suppress(AssertionError):
            wait_until(lambda: not self.busy(), timeout=timeout, interval=0.5, what="the expansion done")

    def parts_taken(self) -> int:
        return sum(r["parts_total"] for r in self._rows())

    def all_final(self) -> bool:
        return all(status == "done" for status, _ in self._campaigns().values()) and all(
            r["status"] in FINAL for r in self._rows()
        )

    def figures(self, whole: Counter[tuple[str, str]]) -> dict[str, Any]:
        rows = self._rows()
        per_contact = Counter((r["campaign_id"], r["recipient"]) for r in rows)
        missing = sum(1 for c, numbers in self.audiences.items() for n in numbers if (c, n) not in per_contact)
        statuses = Counter(r["status"] for r in rows)
        not_whole = sum(1 for r in rows if r["status"] == "delivered" and whole[(r["recipient"], r["text"])] == 0)
        audience = sum(len(numbers) for numbers in self.audiences.values())
        out = {
            "campaigns": len(self.audiences),
            "campaign_statuses": dict(Counter(status for status, _ in self._campaigns().values())),
            "audience": audience,
            "contacts_imported": self.imported,
            "campaign_messages": len(rows),
            "contacts_without_a_message": missing,
            "contacts_with_two_messages": sum(1 for n in per_contact.values() if n > 1),
            "messages_for_no_audience_contact": sum(
                1 for r in rows if r["recipient"] not in self.audiences.get(r["campaign_id"], set())
            ),
            "statuses": dict(statuses),
            "not_delivered": len(rows) - statuses["delivered"],
            "lost_not_whole_in_journal": not_whole,
            "parts_expected": sum(r["parts_total"] for r in rows),
        }
        out["lost"] = missing + out["not_delivered"] + not_whole
        out["load_ok"] = (
            out["lost"] == 0
            and len(rows) == audience
            and out["contacts_with_two_messages"] == 0
            and out["messages_for_no_audience_contact"] == 0
            and out["campaign_statuses"] == {"done": len(self.audiences)}
        )
        return out


# --- the soak -----------------------------------------------------------------------------


@dataclass
class Kill:
    at: float  # seconds since the start
    in_first_phase: bool  # the client submitting, or the campaign expanding
    parts_before: int  # journal entries when the gateway was dead
    in_flight: list[tuple[Any, ...]]  # the last part of each modem before it


LOADS = {"messages": Batches, "campaign": Campaigns}


def soak(
    workdir: Path,
    database_url: str,
    *,
    mode: str,
    kills: int,
    first_kills: int,
    size: int,
    seed: int,
    latency: float,
    max_seconds: float,
    expansion_batch: int,
) -> dict[str, Any]:
    rng = random.Random(seed)
    started = time.monotonic()
    deadline = started + max_seconds
    sim = SimulatorProcess(MODEMS, workdir, name="soak-sim")
    gw: GatewayProcess | None = None
    try:
        for sim_id in sim.urls:
            sim.set_faults(sim_id, submit_delay=latency)
        specs = [ModemSpec(f"modem-{n}", url, 600, 10) for n, url in enumerate(sim.urls.values(), 1)]
        gw = GatewayProcess(workdir, database_url, specs, name="soak-gw")
        # Small expansion batches: the audience goes into the outbox in many commits, so
        # kills land between and inside them.
        gw.config.write_text(gw.config.read_text() + f"\n[campaigns]\nexpansion_batch = {expansion_batch}\n")
        gw.start().wait_ready(s.id for s in specs)
        engine = sa.create_engine(database_url)
        load = LOADS[mode](gw, engine, size)

        load.add()
        done: list[Kill] = []
        restarts: list[float] = []
        crashes: list[str] = []
        while len(done) < kills and time.monotonic() < deadline:
            if sum(k.in_first_phase for k in done) >= first_kills:
                load.settle(max(0.0, deadline - time.monotonic()))  # the rest land while the modems send
            # Shorter runs between kills in the first phase, so several land in it.
            time.sleep(rng.uniform(0.2, 1.5) if load.busy() else rng.uniform(0.2, 4.0))
            if gw.proc is not None and gw.proc.poll() is not None:
                crashes.append(f"exited with {gw.proc.returncode} before kill {len(done) + 1}: {gw.log(1500)}")
            else:
                gw.kill()
            time.sleep(0.3)  # what was already on the wire reaches the simulator's journal
            journal = sim.journal()
            last: dict[str, tuple[Any, ...]] = {e["modem"]: part_key(e) for e in journal}
            done.append(Kill(time.monotonic() - started, load.busy(), len(journal), list(last.values())))
            clock = time.monotonic()
            if not restart(gw, crashes):
                break
            restarts.append(time.monotonic() - clock)
            if len(done) < kills and not load.busy() and load.parts_taken() - len(sim.journal()) < MODEMS * 20:
                load.add()  # keep the modems busy until the last kill
        kill_phase = time.monotonic() - started

        load.settle(max(1.0, deadline - time.monotonic()))
        with contextlib.suppress(AssertionError):
            wait_until(
                load.all_final, timeout=max(10.0, deadline - time.monotonic()), interval=1.0, what="every message final"
            )
        finished = time.monotonic() - started
        gateway_alive = gw.proc is not None and gw.proc.poll() is None
        flagged = sum(int(n) for n in UNCERTAIN.findall(gw.log(tail=None)))
        journal = sim.journal()
        orphans: list[dict[str, Any]] = []
        whole = Counter((m["recipient"], m["text"]) for m in journal_messages(journal, orphans))
        out = {
            "mode": mode,
            "seed": seed,
            "modems": MODEMS,
            "latency_s": latency,
            "kills": len(done),
            "kills_wanted": kills,
            "kills_in_first_phase": sum(k.in_first_phase for k in done),
            "first_phase": load.phase,
            **load.figures(whole),
        }
        engine.dispose()
    finally:
        if gw is not None:
            gw.stop()
        sim.stop()
    out.update(network(kills=done, journal=journal, whole=whole, orphans=orphans))
    out.update(
        {
            "parts_flagged_uncertain_by_gateway": flagged,
            "gateway_crashes": crashes,
            "gateway_alive_at_end": gateway_alive,
            "restart_s_mean": sum(restarts) / len(restarts) if restarts else 0.0,
            "kill_phase_s": kill_phase,
            "total_s": finished,
        }
    )
    out["ok"] = (
        len(done) >= kills
        and out.pop("load_ok")
        and out["parts_duplicated"] <= out["duplicate_bound"]
        and out["duplicated_not_in_flight"] == 0
        and not crashes
        and gateway_alive
    )
    return out


def restart(gw: GatewayProcess, crashes: list[str], tries: int = 3) -> bool:
    """Start the gateway again; a start that fails is a finding, recorded in `crashes`."""
    for _ in range(tries):
        try:
            gw.start()
            return True
        except AssertionError as exc:
            crashes.append(f"failed to start: {str(exc)[-1500:]}")
    return False


def network(
    *, kills: list[Kill], journal: list[dict[str, Any]], whole: Counter[tuple[str, str]], orphans: list[dict[str, Any]]
) -> dict[str, Any]:
    """What the simulator's journal shows: doubled parts against the in-flight bound, orphans, spans."""
    # How long a handset holds part of a multipart message before the rest arrives.
    stamps: dict[str, list[float]] = {}
    for e in journal:
        if e["concat"]:
            stamps.setdefault(e["recipient"], []).append(e["t"])
    spans = sorted(max(ts) - min(ts) for ts in stamps.values())
    seen = Counter(part_key(e) for e in journal)
    modems_of: dict[tuple[Any, ...], set[str]] = {}
    for e in journal:
        modems_of.setdefault(part_key(e), set()).add(e["modem"])
    doubled = {k: n - 1 for k, n in seen.items() if n > 1}
    in_flight = {p for k in kills for p in k.in_flight}
    return {
        "parts_journalled": len(journal),
        "parts_duplicated": sum(doubled.values()),
        "duplicate_bound": len(kills) * MODEMS,
        "duplicated_not_in_flight": sum(n for k, n in doubled.items() if k not in in_flight),
        # A part of a multipart message the recipient got from two sender numbers: one copy
        # is a fragment that never completes, since handsets join parts by sender and
        # reference. (A single-part message resent elsewhere is a whole message twice.)
        "duplicated_via_another_modem": sum(1 for k in doubled if k[1] > 1 and len(modems_of[k]) > 1),
        "messages_received_whole_twice": sum(1 for n in whole.values() if n > 1),
        "orphan_parts": len(orphans),
        "multipart_span_p50_s": spans[len(spans) // 2] if spans else 0.0,
        "multipart_span_max_s": spans[-1] if spans else 0.0,
        "multipart_spans_over_60s": sum(1 for x in spans if x > 60),
    }


# --- report -------------------------------------------------------------------------------

Row = tuple[str, Any, str]

MESSAGE_ROWS: list[Row] = [
    ("kills (SIGKILL, then restart)", lambda r: f"{r['kills']}", ">= {wanted}"),
    ("of which while the client was submitting", lambda r: f"{r['kills_in_first_phase']}", ""),
    ("messages answered 202", lambda r: f"{r['accepted']:,}", ""),
    (
        "submit attempts / connection errors / 5xx",
        lambda r: f"{r['submit_attempts']:,} / {r['connection_errors']} / {r['server_errors']}",
        "",
    ),
    (
        "retries answered as a replay of the message the lost answer was for",
        lambda r: str(r["retries_answered_as_replay"]),
        "",
    ),
    ("extra messages (a retried key stored twice)", lambda r: str(r["extra_messages"]), "0"),
    ("messages lost (202, then not delivered, absent, or not whole on the network)", lambda r: str(r["lost"]), "0"),
]
CAMPAIGN_ROWS: list[Row] = [
    ("kills (SIGKILL, then restart)", lambda r: f"{r['kills']}", ">= {wanted}"),
    ("of which while the campaign was being expanded into the outbox", lambda r: f"{r['kills_in_first_phase']}", ""),
    (
        "campaigns (one, plus one more each time the modems ran dry before the last kill)",
        lambda r: f"{r['campaigns']}",
        "",
    ),
    ("contacts in the audience (imported as CSV with consent)", lambda r: f"{r['audience']:,}", ""),
    ("campaign messages in the outbox", lambda r: f"{r['campaign_messages']:,}", "= audience"),
    (
        "contacts with no message / with two for the campaign",
        lambda r: f"{r['contacts_without_a_message']} / {r['contacts_with_two_messages']}",
        "0 / 0",
    ),
    (
        "messages not delivered, or not whole on the network",
        lambda r: f"{r['not_delivered']} / {r['lost_not_whole_in_journal']}",
        "0 / 0",
    ),
]
NETWORK_ROWS: list[Row] = [
    ("parts expected / on the network", lambda r: f"{r['parts_expected']:,} / {r['parts_journalled']:,}", ""),
    ("parts duplicated", lambda r: str(r["parts_duplicated"]), "<= kills x modems = {bound}"),
    ("duplicated parts that were not in flight at a kill", lambda r: str(r["duplicated_not_in_flight"]), "0"),
    (
        "parts the gateway flagged at its restarts as possibly sent twice",
        lambda r: str(r["parts_flagged_uncertain_by_gateway"]),
        "",
    ),
    (
        "duplicated parts of multipart messages sent again through another modem (an orphan fragment)",
        lambda r: str(r["duplicated_via_another_modem"]),
        "",
    ),
    ("single-part messages a recipient got twice", lambda r: str(r["messages_received_whole_twice"]), ""),
    (
        "multipart messages, first to last part: p50 / max / over 60 s",
        lambda r: (
            f"{r['multipart_span_p50_s']:.1f} s / {r['multipart_span_max_s']:.0f} s / {r['multipart_spans_over_60s']}"
        ),
        "",
    ),
    (
        "gateway exits other than the kills",
        lambda r: str(len(r["gateway_crashes"]) + (not r["gateway_alive_at_end"])),
        "0",
    ),
    ("restart to first answer, mean", lambda r: f"{r['restart_s_mean']:.1f} s", ""),
    ("kills done after / all final after", lambda r: f"{r['kill_phase_s']:.0f} s / {r['total_s']:.0f} s", ""),
    ("result", lambda r: "PASS" if r["ok"] else "FAIL", ""),
]


def markdown(results: dict[str, dict[str, Any]]) -> str:
    """One column per run (named by its database); the runs are of one mode."""
    first = next(iter(results.values()))
    rows = (CAMPAIGN_ROWS if first["mode"] == "campaign" else MESSAGE_ROWS) + NETWORK_ROWS
    bound = ", ".join(sorted({str(r["duplicate_bound"]) for r in results.values()}))
    wanted = ", ".join(sorted({str(r["kills_wanted"]) for r in results.values()}))
    lines = ["| measure | " + " | ".join(results) + " | must be |", "| --- |" + " ---: |" * len(results) + " ---: |"]
    for name, cell, must in rows:
        cells = " | ".join(cell(r) for r in results.values())
        lines.append(f"| {name} | {cells} | {must.format(bound=bound, wanted=wanted)} |")
    lines.append("")
    lines.append(
        f"{first['modems']} modems, {first['latency_s']:g} s per AT+CMGS, seed {first['seed']}; {measured_on()}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mode",
        choices=sorted(LOADS),
        default="campaign",
        help="kill during a campaign (default), or while a client submits batches of messages",
    )
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument(
        "--first-kills",
        "--submit-kills",
        type=int,
        default=5,
        help="of those, at most this many while the campaign expands (or the client submits)",
    )
    parser.add_argument(
        "--contacts",
        "--messages",
        type=int,
        default=1000,
        dest="size",
        help="contacts per campaign audience (messages per batch in --mode messages)",
    )
    parser.add_argument(
        "--expansion-batch",
        type=int,
        default=1,
        help="the gateway's [campaigns] expansion_batch; 1: each contact a commit a kill can cut",
    )
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds each AT+CMGS takes")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop killing, and waiting, after this")
    parser.add_argument("--database-url", help="PostgreSQL URL (a throw-away schema is made); default SQLite")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table instead of JSON")
    parser.add_argument("--workdir", type=Path, help="keep the logs, journal and database here")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.workdir:
            args.workdir.mkdir(parents=True, exist_ok=True)
            workdir = args.workdir
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="modemgate-soak-")))
        url = stack.enter_context(database(args.database_url, workdir))
        result = soak(
            workdir,
            url,
            mode=args.mode,
            kills=args.kills,
            first_kills=args.first_kills,
            size=args.size,
            seed=args.seed,
            latency=args.latency,
            max_seconds=args.max_seconds,
            expansion_batch=args.expansion_batch,
        )
    if args.markdown:
        print(markdown({"PostgreSQL" if args.database_url else "SQLite": result}))
    else:
        print(json.dumps(result, indent=2))
    raise SystemExit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
