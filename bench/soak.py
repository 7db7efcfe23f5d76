"""Crash soak: SIGKILL `modemgate serve` again and again while it takes and sends a batch.

    python bench/soak.py [--kills N] [--submit-kills N] [--messages N] [--seed S]
                         [--max-seconds S] [--database-url URL] [--markdown]

Real processes on this machine: `modemgate simulate` (3 modems on loopback TCP, each
taking `--latency` seconds to answer AT+CMGS, a journal of every part its network
accepts) and `modemgate serve` on a SQLite file, or on a fresh schema of the PostgreSQL
database `--database-url` names.

A client submits `--messages` messages (a third single-part GSM-7, the rest multipart
GSM-7 or UCS-2) through `POST /v1/messages`, each with its own `Idempotency-Key`; after a
connection error or a 5xx it retries the same request with the same key until it gets
its 202. Meanwhile the gateway is killed with SIGKILL `--kills` times, each a seeded
random moment after it last came up, and restarted at once: up to `--submit-kills` of
them while the client is still submitting, the rest while the modems send. If the
modems run out of work before the last kill, another batch is submitted. Afterwards the
gateway runs until every message is final (or `--max-seconds` are up).

Also reported: how long a multipart message's first part waited on the network for its
last (a handset holds the fragments meanwhile), and the gateway's own count, from its
log at each start, of parts it knows may have gone twice.

Counted from the database and the simulator's journal:
- lost: messages answered 202 that are not `delivered` in the database, or absent from
  it, or never reached the network whole. Must be 0.
- extra messages: rows for a key beyond the first, or rows no 202 named (a retry after
  a connection error that made a second message). Must be 0.
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
import platform
import random
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from procs import (
    GatewayProcess,
    ModemSpec,
    SimulatorProcess,
    journal_messages,
    mixed_messages,
    part_key,
    wait_until,
)

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
                r = await client.post("/v1/messages", json={"to": to, "text": text},
                                      headers={"Idempotency-Key": key})
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
    import pgschema  # the test suite's throw-away schemas, made on the server we are given

    pgschema.POSTGRES_URL = url
    with pgschema.throwaway_schema("mg_soak") as schema_url:
        yield schema_url


def stored_messages(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, idempotency_key, status, parts_total, recipient, text FROM message"))
        return [dict(r._mapping) for r in rows]


# --- the soak -----------------------------------------------------------------------------


@dataclass
class Kill:
    at: float  # seconds since the start
    during_submission: bool
    parts_before: int  # journal entries when the gateway was dead
    in_flight: list[tuple[Any, ...]]  # the last part of each modem before it


def soak(workdir: Path, database_url: str, *, kills: int, submit_kills: int, messages: int, seed: int,
         latency: float, max_seconds: float) -> dict[str, Any]:
    rng = random.Random(seed)
    started = time.monotonic()
    deadline = started + max_seconds
    sim = SimulatorProcess(MODEMS, workdir, name="soak-sim")
    gw: GatewayProcess | None = None
    try:
        for sim_id in sim.urls:
            sim.set_faults(sim_id, submit_delay=latency)
        specs = [ModemSpec(f"modem-{n}", url, 600, 10) for n, url in enumerate(sim.urls.values(), 1)]
        gw = GatewayProcess(workdir, database_url, specs, name="soak-gw").start()
        gw.wait_ready(s.id for s in specs)
        engine = sa.create_engine(database_url)

        batches: list[Submitter] = []

        def submit_batch() -> None:
            n = len(batches)
            todo = [(f"soak-{n}-{i}", to, text)
                    for i, (to, text) in enumerate(mixed_messages(messages, prefix=f"b{n}-", number_base=n * messages))]
            batches.append(Submitter(gw.url, gw.headers, todo).start())

        def parts_accepted() -> int:
            return sum(m["parts_total"] for b in batches for m in list(b.accepted.values()))

        submit_batch()
        done: list[Kill] = []
        restarts: list[float] = []
        crashes: list[str] = []
        while len(done) < kills and time.monotonic() < deadline:
            if sum(k.during_submission for k in done) >= submit_kills:
                for b in batches:  # the rest of the kills land while the modems send
                    b.join(max(0.0, deadline - time.monotonic()))
            # Shorter runs between kills while the client submits, so several land in it.
            time.sleep(rng.uniform(0.2, 1.5) if any(b.active for b in batches) else rng.uniform(0.2, 4.0))
            submitting = any(b.active for b in batches)
            if gw.proc is not None and gw.proc.poll() is not None:
                crashes.append(f"exited with {gw.proc.returncode} before kill {len(done) + 1}: {gw.log(1500)}")
            else:
                gw.kill()
            time.sleep(0.3)  # what was already on the wire reaches the simulator's journal
            journal = sim.journal()
            last: dict[str, tuple[Any, ...]] = {e["modem"]: part_key(e) for e in journal}
            done.append(Kill(time.monotonic() - started, submitting, len(journal), list(last.values())))
            if not any(b.active for b in batches) and parts_accepted() - len(journal) < MODEMS * 20:
                submit_batch()  # keep the modems busy until the last kill
            clock = time.monotonic()
            if not restart(gw, crashes):
                break
            restarts.append(time.monotonic() - clock)
        kill_phase = time.monotonic() - started

        for b in batches:
            b.join(max(1.0, deadline - time.monotonic()))
        keys = {k: m for b in batches for k, m in b.accepted.items()}

        def all_final() -> bool:
            rows = stored_messages(engine)
            return len(rows) >= len(keys) and all(r["status"] in FINAL for r in rows)

        with contextlib.suppress(AssertionError):
            wait_until(all_final, timeout=max(10.0, deadline - time.monotonic()), interval=1.0,
                       what="every message final")
        finished = time.monotonic() - started
        gateway_alive = gw.proc is not None and gw.proc.poll() is None
        flagged = sum(int(n) for n in UNCERTAIN.findall(gw.log(tail=None)))
        rows = stored_messages(engine)
        engine.dispose()
        journal = sim.journal()
    finally:
        if gw is not None:
            gw.stop()
        sim.stop()
    return count(kills=done, batches=batches, keys=keys, rows=rows, journal=journal, restarts=restarts,
                 crashes=crashes, gateway_alive=gateway_alive, flagged=flagged, kill_phase=kill_phase,
                 finished=finished, latency=latency, seed=seed, wanted=kills)


def restart(gw: GatewayProcess, crashes: list[str], tries: int = 3) -> bool:
    """Start the gateway again; a start that fails is a finding, recorded in `crashes`."""
    for _ in range(tries):
        try:
            gw.start()
            return True
        except AssertionError as exc:
            crashes.append(f"failed to start: {str(exc)[-1500:]}")
    return False


def count(*, kills: list[Kill], batches: list[Submitter], keys: dict[str, dict[str, Any]],
          rows: list[dict[str, Any]], journal: list[dict[str, Any]], restarts: list[float],
          crashes: list[str], gateway_alive: bool, flagged: int, kill_phase: float, finished: float, latency: float,
          seed: int, wanted: int) -> dict[str, Any]:
    by_key = Counter(r["idempotency_key"] for r in rows)
    by_id = {r["id"]: r for r in rows}
    extra = sum(n - 1 for n in by_key.values()) + sum(1 for k in by_key if k not in keys)
    orphans: list[dict[str, Any]] = []
    whole = Counter((m["recipient"], m["text"]) for m in journal_messages(journal, orphans))

    lost_absent = lost_status = lost_network = 0
    statuses: Counter[str] = Counter()
    for key, answer in keys.items():
        row = by_id.get(answer["id"])
        if row is None or row["idempotency_key"] != key:
            lost_absent += 1
            continue
        statuses[row["status"]] += 1
        if row["status"] != "delivered":
            lost_status += 1
        elif whole[(row["recipient"], row["text"])] == 0:
            lost_network += 1

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
    bound = len(kills) * MODEMS
    out = {
        "seed": seed,
        "modems": MODEMS,
        "latency_s": latency,
        "kills": len(kills),
        "kills_wanted": wanted,
        "kills_during_submission": sum(k.during_submission for k in kills),
        "batches": len(batches),
        "submit_attempts": sum(b.attempts for b in batches),
        "connection_errors": sum(b.connection_errors for b in batches),
        "server_errors": sum(b.server_errors for b in batches),
        "retries_answered_as_replay": sum(b.replayed for b in batches),
        "accepted": len(keys),
        "stored": len(rows),
        "extra_messages": extra,
        "statuses": dict(statuses),
        "lost": lost_absent + lost_status + lost_network,
        "lost_absent": lost_absent,
        "lost_not_delivered": lost_status,
        "lost_not_whole_in_journal": lost_network,
        "parts_expected": sum(m["parts_total"] for m in keys.values()),
        "parts_journalled": len(journal),
        "parts_duplicated": sum(doubled.values()),
        "duplicate_bound": bound,
        "duplicated_not_in_flight": sum(n for k, n in doubled.items() if k not in in_flight),
        "parts_flagged_uncertain_by_gateway": flagged,
        # The recipient gets such a part from two sender numbers: one copy is a fragment
        # that never completes, since handsets join parts by sender and reference.
        "duplicated_via_another_modem": sum(1 for k in doubled if len(modems_of[k]) > 1),
        "messages_received_whole_twice": sum(1 for n in whole.values() if n > 1),
        "orphan_parts": len(orphans),
        "multipart_span_p50_s": spans[len(spans) // 2] if spans else 0.0,
        "multipart_span_max_s": spans[-1] if spans else 0.0,
        "multipart_spans_over_60s": sum(1 for x in spans if x > 60),
        "gateway_crashes": crashes,
        "gateway_alive_at_end": gateway_alive,
        "restart_s_mean": sum(restarts) / len(restarts) if restarts else 0.0,
        "kill_phase_s": kill_phase,
        "total_s": finished,
    }
    out["ok"] = (len(kills) >= wanted and out["lost"] == 0 and extra == 0 and out["parts_duplicated"] <= bound
                 and out["duplicated_not_in_flight"] == 0 and not crashes and gateway_alive)
    return out


# --- report -------------------------------------------------------------------------------


def markdown(results: dict[str, dict[str, Any]]) -> str:
    """One column per run (named by its database)."""
    rows: list[tuple[str, Any, str]] = [
        ("kills (SIGKILL, then restart)", lambda r: f"{r['kills']}", ">= {wanted}"),
        ("of which while the client was submitting", lambda r: f"{r['kills_during_submission']}", ""),
        ("messages answered 202", lambda r: f"{r['accepted']:,}", ""),
        ("submit attempts / connection errors / 5xx",
         lambda r: f"{r['submit_attempts']:,} / {r['connection_errors']} / {r['server_errors']}", ""),
        ("retries answered as a replay of the message the lost answer was for",
         lambda r: str(r["retries_answered_as_replay"]), ""),
        ("extra messages (a retried key stored twice)", lambda r: str(r["extra_messages"]), "0"),
        ("messages lost (202, then not delivered, absent, or not whole on the network)",
         lambda r: str(r["lost"]), "0"),
        ("parts expected / on the network", lambda r: f"{r['parts_expected']:,} / {r['parts_journalled']:,}", ""),
        ("parts duplicated", lambda r: str(r["parts_duplicated"]), "<= kills x modems = {bound}"),
        ("duplicated parts that were not in flight at a kill", lambda r: str(r["duplicated_not_in_flight"]), "0"),
        ("parts the gateway flagged at its restarts as possibly sent twice",
         lambda r: str(r["parts_flagged_uncertain_by_gateway"]), ""),
        ("duplicated parts sent again through another modem (the first copy an orphan fragment)",
         lambda r: str(r["duplicated_via_another_modem"]), ""),
        ("single-part messages a recipient got twice", lambda r: str(r["messages_received_whole_twice"]), ""),
        ("multipart messages, first to last part: p50 / max / over 60 s",
         lambda r: f"{r['multipart_span_p50_s']:.1f} s / {r['multipart_span_max_s']:.0f} s / "
                   f"{r['multipart_spans_over_60s']}", ""),
        ("gateway exits other than the kills",
         lambda r: str(len(r["gateway_crashes"]) + (not r["gateway_alive_at_end"])), "0"),
        ("restart to first answer, mean", lambda r: f"{r['restart_s_mean']:.1f} s", ""),
        ("kills done after / all final after", lambda r: f"{r['kill_phase_s']:.0f} s / {r['total_s']:.0f} s", ""),
        ("result", lambda r: "PASS" if r["ok"] else "FAIL", ""),
    ]
    bound = ", ".join(sorted({str(r["duplicate_bound"]) for r in results.values()}))
    wanted = ", ".join(sorted({str(r["kills_wanted"]) for r in results.values()}))
    lines = ["| measure | " + " | ".join(results) + " | must be |", "| --- |" + " ---: |" * len(results) + " ---: |"]
    for name, cell, must in rows:
        cells = " | ".join(cell(r) for r in results.values())
        lines.append(f"| {name} | {cells} | {must.format(bound=bound, wanted=wanted)} |")
    first = next(iter(results.values()))
    lines.append("")
    lines.append(
        f"{first['modems']} modems, {first['latency_s']:g} s per AT+CMGS, seed {first['seed']}; measured "
        f"{date.today().isoformat()} on {platform.python_implementation()} {platform.python_version()}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--submit-kills", type=int, default=5, help="of those, at most this many while submitting")
    parser.add_argument("--messages", type=int, default=1000, help="messages per batch")
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
        result = soak(workdir, url, kills=args.kills, submit_kills=args.submit_kills, messages=args.messages,
                      seed=args.seed, latency=args.latency, max_seconds=args.max_seconds)
    if args.markdown:
        print(markdown({"PostgreSQL" if args.database_url else "SQLite": result}))
    else:
        print(json.dumps(result, indent=2))
    raise SystemExit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
