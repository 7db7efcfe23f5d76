"""Modem pools: throughput, cost per part, idle cost, memory and several nodes.

    python -m bench.pools throughput [--modems 1,4,64,256] [--databases sqlite,postgresql] [--messages N]
    python -m bench.pools idle [--modems 256] [--seconds S] [--samples N]
    python -m bench.pools memory [--modems 256] [--queued N]
    python -m bench.pools nodes [--nodes 3] [--modems-per-node 4] [--messages N] [--kill]
    python -m bench.pools profile [--modems 4] [--messages N]

Everything runs as real processes, as a user runs them: `modemgate simulate --modems N`
(instant simulated modems on TCP, a journal stamping every part its network accepts) and
`modemgate serve` with `socket://` ports to it, each modem `sends_per_minute =
"unlimited"` (`not_a_sim = true`), so the gateway, not the rate limiter, is what is
measured. CPU time and memory are read from /proc for each process.

- throughput: `--messages` single-part messages are queued in the database (the outbox's
  bulk insert) before `serve` starts; parts/min is the journal's count over the span from
  its first to its last stamp. CPU per part: the serve process's CPU time (user + system)
  over the run / parts; on PostgreSQL also the rows written per part, from the schema's
  pg_stat_user_tables.
- idle: `serve` with `--modems` modems and nothing to do; its CPU time over `--seconds`
  after the start settled, as a share of one core; then `--samples` messages one at a time
  through `POST /v1/messages`, submit -> the journal's stamp of the part (p50).
- memory: `--queued` messages waiting and `--modems` modems sending them: the serve
  process's peak RSS (VmHWM) after 30 s.
- nodes: `--nodes` serve processes on one PostgreSQL schema, each with its own simulator
  and modems, every node taking API traffic (messages submitted round-robin); with `--kill`
  one node is SIGKILLed when a third of the parts are on the network and started again after
  twice its message lease (as a supervisor would). Counted from the journals: messages
  lost (never on the network whole), parts sent twice, and the killed node's parts in flight.
- profile: the gateway in this process (SQLite), a sampler reading every thread's stack
  every 2 ms, time by where it was spent; and the statements and commits per part, counted
  on the engine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from bench.measures import percentile, table
from gateway.core import outbox
from gateway.core.db import create_engine_for, migrate
from gateway.core.models import Message, utcnow
from harness.livegateway import GatewayProcess, ModemSpec, SimulatorProcess, journal_messages, part_key
from harness.pgschema import throwaway_schema
from harness.waiting import wait_until

_TICK = os.sysconf("SC_CLK_TCK")
_BATCH = 5_000
WAITING = ("queued", "sending", "sent")  # not final yet: a delivery report is still to come


# --- measures of a process ------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of /proc/PID/status in MB (VmRSS now, VmHWM the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


# --- set-up ---------------------------------------------------------------------------------


@contextmanager
def database(kind: str, workdir: Path, name: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / (name + '.db')}"
    else:
        with throwaway_schema("mg_bench") as url:
            yield url


def queue(url: str, n: int, *, base: int = 0) -> None:
    """`n` single-part transactional messages in the outbox, each to its own number."""
    engine = create_engine_for(url)
    try:
        migrate(engine)
        now = utcnow()
        for start in range(0, n, _BATCH):
            drafts = [
                outbox.Draft(f"+3168{base + i:07d}", f"Your code is {100000 + base + i}", "bench")
                for i in range(start, min(n, start + _BATCH))
            ]
            with engine.begin() as conn:
                outbox.insert_many(conn, drafts, now=now)
    finally:
        engine.dispose()


def specs(sim: SimulatorProcess, prefix: str = "m") -> list[ModemSpec]:
    return [
        ModemSpec(f"{prefix}{i}", url, "unlimited", 5, not_a_sim=True) for i, url in enumerate(sim.urls.values(), 1)
    ]


def unsettled(url: str) -> int:
    """Messages without their final status yet (a delivery report still to come)."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(Message).where(col(Message.status).in_(WAITING))
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def rows_written(url: str) -> int:
    """Rows inserted, updated and deleted in the schema of `url` (PostgreSQL statistics)."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
            return int(
                conn.exec_driver_sql(
                    "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables "
                    "WHERE schemaname = current_schema()"
                ).scalar_one()
            )
    finally:
        engine.dispose()


# --- throughput -----------------------------------------------------------------------------


def throughput(workdir: Path, kind: str, modems: int, messages: int) -> dict[str, Any]:
    with database(kind, workdir, f"tp-{kind}-{modems}") as url:
        queue(url, messages)
        sim = SimulatorProcess(modems, workdir, name=f"tp-sim-{kind}-{modems}")
        gw = None
        try:
            before = rows_written(url) if kind == "postgresql" else 0
            gw = GatewayProcess(workdir, url, specs(sim), name=f"tp-gw-{kind}-{modems}")
            gw.start()
            assert gw.proc is not None
            wait_until(lambda: sim.journal_count() >= messages, timeout=600, interval=0.5, what="every part sent")
            cpu = cpu_seconds(gw.proc.pid)
            sim_cpu = cpu_seconds(sim.proc.pid)
            rss = memory_mb(gw.proc.pid, "VmHWM")
            # The last parts' delivery reports are still being read from the modems.
            wait_until(lambda: unsettled(url) == 0, timeout=120, interval=1.0, what="every message delivered")
            written = rows_written(url) - before if kind == "postgresql" else None
        finally:
            if gw is not None:
                gw.stop()
            sim.stop()
        journal = sim.journal()
    stamps = sorted(e["t"] for e in journal)
    span = stamps[-1] - stamps[0]
    return {
        "database": kind,
        "modems": modems,
        "parts": len(journal),
        "span_s": span,
        "parts_per_min": (len(journal) - 1) / span * 60 if span > 0 else float("nan"),
        "per_modem_per_min": (len(journal) - 1) / span * 60 / modems if span > 0 else float("nan"),
        "gateway_cpu_ms_per_part": cpu / len(journal) * 1000,  # start-up included
        "simulator_cpu_ms_per_part": sim_cpu / len(journal) * 1000,
        "rows_written_per_part": None if written is None else written / len(journal),
        "peak_rss_mb": rss,
        "twice": sum(n - 1 for n in Counter(part_key(e) for e in journal).values()),
    }


# --- idle -----------------------------------------------------------------------------------


def idle(workdir: Path, modems: int, seconds: float, samples: int) -> dict[str, Any]:
    url = f"sqlite:///{workdir / 'idle.db'}"
    sim = SimulatorProcess(modems, workdir, name="idle-sim")
    gw = GatewayProcess(workdir, url, specs(sim), name="idle-gw")
    try:
        gw.start()
        assert gw.proc is not None
        gw.wait_ready([s.id for s in specs(sim)], timeout=120)
        time.sleep(35)  # the first health and storage polls of every modem are over
        cpu0, sim0, t0 = cpu_seconds(gw.proc.pid), cpu_seconds(sim.proc.pid), time.monotonic()
        time.sleep(seconds)
        took = time.monotonic() - t0
        gw_share = (cpu_seconds(gw.proc.pid) - cpu0) / took
        sim_share = (cpu_seconds(sim.proc.pid) - sim0) / took
        latencies = []
        for i in range(samples):
            before = sim.journal_count()
            start = time.time()
            r = gw.client.post("/v1/messages", json={"to": f"+31613{i:06d}", "text": f"idle {i}"})
            r.raise_for_status()
            wait_until(lambda b=before: sim.journal_count() > b, timeout=10, interval=0.002, what="the part")
            latencies.append((sim.journal()[-1]["t"] - start) * 1000)
            time.sleep(0.3)
        rss = memory_mb(gw.proc.pid)
    finally:
        gw.stop()
        sim.stop()
    return {
        "modems": modems,
        "seconds": took,
        "gateway_core_share": gw_share,
        "simulator_core_share": sim_share,
        "submit_to_cmgs_p50_ms": percentile(latencies, 50),
        "submit_to_cmgs_p95_ms": percentile(latencies, 95),
        "rss_mb": rss,
    }


# --- memory ---------------------------------------------------------------------------------


def memory(workdir: Path, modems: int, queued: int) -> dict[str, Any]:
    url = f"sqlite:///{workdir / 'memory.db'}"
    queue(url, queued)
    sim = SimulatorProcess(modems, workdir, name="mem-sim")
    gw = GatewayProcess(workdir, url, specs(sim), name="mem-gw")
    try:
        gw.start()
        assert gw.proc is not None
        time.sleep(30)
        peak = memory_mb(gw.proc.pid, "VmHWM")
        now = memory_mb(gw.proc.pid)
        sent = sim.journal_count()
    finally:
        gw.stop()
        sim.stop()
    return {"modems": modems, "queued": queued, "sent_in_30s": sent, "peak_rss_mb": peak, "rss_mb": now}


# --- several nodes --------------------------------------------------------------------------


def nodes(workdir: Path, count: int, per_node: int, messages: int, kill: bool) -> dict[str, Any]:
    lease = 10.0
    with throwaway_schema("mg_nodes") as url:
        migrate_only(url)
        sims = [SimulatorProcess(per_node, workdir, name=f"node{n}-sim") for n in range(count)]
        gws: list[GatewayProcess] = []
        key = None
        try:
            for n, sim in enumerate(sims):
                settings = {"node_id": f"node{n}", "modem_lease": lease, "message_lease": lease}
                gw = GatewayProcess(workdir, url, specs(sim, f"n{n}m"), name=f"node{n}", key=key, settings=settings)
                key = gw.key
                gws.append(gw)
            for gw in gws:
                gw.start()
            texts = [(f"+3166{i:07d}", f"node bench {i}: your code is {100000 + i}") for i in range(messages)]
            total_parts = messages
            cpu0 = [cpu_seconds(gw.proc.pid) for gw in gws if gw.proc is not None]
            t0 = time.time()
            submitters = []
            for n in range(count):
                share = list(range(n, messages, count))
                th = threading.Thread(target=submit_with_failover, args=(gws, n, texts, share))
                th.start()
                submitters.append(th)
            killed: dict[str, Any] = {}
            if kill:
                victim = gws[-1]
                wait_until(
                    lambda: sum(s.journal_count() for s in sims) >= total_parts // 3,
                    timeout=600,
                    interval=0.05,
                    what="a third of the parts",
                )
                victim.kill()
                killed = {"at_parts": sum(s.journal_count() for s in sims), "t": time.time()}
            for th in submitters:
                th.join(900)
            if kill:
                # Its supervisor starts it again after twice its lease: the other nodes had
                # time to take over what it held unpinned; it resumes what is pinned to it.
                time.sleep(max(0.0, killed["t"] + 2 * lease - time.time()))
                gws[-1].start()
            wait_until(
                lambda: sum(s.journal_count() for s in sims) >= total_parts,
                timeout=1800,
                interval=1.0,
                what="every part on the network",
            )
            took = time.time() - t0
            last_part = time.time()
            time.sleep(2)
            cpu = sum(cpu_seconds(gw.proc.pid) for gw in gws if gw.proc is not None) - (0 if kill else sum(cpu0))
            # The delivery reports of the last parts are still being read from the modems:
            # wait (a while) until every message has its final status.
            statuses = gws[0].statuses()
            while time.time() - last_part < 300 and any(st in WAITING for st in statuses.values()):
                time.sleep(5)
                statuses = gws[0].statuses()
            settled_s = time.time() - last_part
            in_flight = interrupted_in_flight(url, f"n{count - 1}m") if kill else 0
        finally:
            for gw in gws:
                gw.stop()
            for sim in sims:
                sim.stop()
        journal = [e for s in sims for e in s.journal()]
    seen = Counter(part_key(e) for e in journal)
    joined = journal_messages(journal)
    delivered = {(m["recipient"], m["text"]) for m in joined}
    lost = [t for t in texts if t not in delivered]
    stamps = sorted(e["t"] for e in journal)
    return {
        "nodes": count,
        "modems": count * per_node,
        "messages": messages,
        "parts": len(journal),
        "lost": len(lost),
        "twice": sum(n - 1 for n in seen.values()),
        "in_flight_when_killed": in_flight,
        "statuses": dict(Counter(statuses.values())),
        "statuses_final_after_s": settled_s,  # from the last part on the network
        "wall_s": took,
        "parts_per_min": (len(journal) - 1) / (stamps[-1] - stamps[0]) * 60,
        "gateway_cpu_ms_per_part": cpu / len(journal) * 1000,
        "killed": killed,
    }


def submit_with_failover(
    gws: Sequence[GatewayProcess], first: int, texts: Sequence[tuple[str, str]], which: Sequence[int]
) -> None:
    """POST messages `which` to node `first`, as a client behind a load balancer does: when
    a node does not answer, the same request (same idempotency key: stored once whoever
    stored it) goes to the next node."""
    import httpx

    clients = [httpx.Client(base_url=gw.url, headers=gw.headers, timeout=30) for gw in gws]
    try:
        for i in which:
            to, text = texts[i]
            for k in range(len(gws) * 3):
                node = (first + k) % len(gws)
                try:
                    r = clients[node].post("/v1/messages", json={"to": to, "text": text, "idempotency_key": f"nb-{i}"})
                except httpx.TransportError:
                    continue
                if r.status_code in (200, 201, 202):
                    break
                if r.status_code < 500:
                    r.raise_for_status()
            else:
                raise RuntimeError(f"message {i}: no node took it")
    finally:
        for c in clients:
            c.close()


def migrate_only(url: str) -> None:
    engine = create_engine_for(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()


def interrupted_in_flight(url: str, prefix: str) -> int:
    """Attempts of the killed node's modems that ended `interrupted` with a part between
    its AT+CMGS and the commit of its answer: the parts that may have gone out unrecorded
    (taken over by another node after the lease, or by the node's own restart)."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM message_attempt WHERE outcome = 'interrupted' "
                        "AND modem_id LIKE :prefix AND error LIKE '%may have reached the network%'"
                    ),
                    {"prefix": prefix + "%"},
                ).scalar_one()
            )
    finally:
        engine.dispose()


# --- profile --------------------------------------------------------------------------------


class Sampler:
    """Every `interval` s, where every other thread is: waiting (blocked in a lock, select
    or a queue), or working, attributed to a bucket by the module of its innermost frame.
    Threads waiting for the GIL count as working: the shares of the working buckets are
    what compares."""

    BUCKETS = (
        ("SQLAlchemy", ("sqlalchemy/",)),
        ("SQLite (sqlite3)", ("sqlite3",)),
        ("pyserial transport", ("serial/",)),
        ("AT channel and driver (drivers/at)", ("drivers/at/",)),
        ("SMS codec (drivers/sms)", ("drivers/sms/",)),
        ("outbox, dispatcher, runtime (gateway/core)", ("gateway/core/",)),
        ("asyncio", ("asyncio/",)),
        ("pydantic, FastAPI, uvicorn", ("pydantic", "fastapi", "starlette", "uvicorn")),
    )

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.counts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                self.counts[self._bucket(frame)] += 1

    # Innermost Python frames of a thread blocked in C (a lock, select, a queue): waiting.
    WAITING = (
        ("concurrent/futures/thread.py", "_worker"),
        ("selectors.py", "select"),
        ("threading.py", "wait"),
        ("queue.py", "get"),
        ("gateway/core/runtime.py", "now"),  # Writes.now: its turn at the SQLite lock
    )

    def _bucket(self, frame: Any) -> str:
        code = frame.f_code
        if any(code.co_filename.endswith(p) and code.co_name == n for p, n in self.WAITING):
            return "waiting (select, locks, idle)"
        # The innermost frame that says where the work is.
        f = frame
        while f is not None:
            path = f.f_code.co_filename
            for name, marks in self.BUCKETS:
                if any(m in path for m in marks):
                    return name
            f = f.f_back
        return "other"


def profile(workdir: Path, modems: int, messages: int) -> dict[str, Any]:
    from gateway.core.runtime import Gateway
    from gateway.core.settings import ModemSettings, Settings

    url = f"sqlite:///{workdir / 'profile.db'}"
    queue(url, messages)
    sim = SimulatorProcess(modems, workdir, name="prof-sim")
    settings = Settings(
        database_url=url,
        modems=[
            ModemSettings(id=s.id, port=s.port, sends_per_minute="unlimited", not_a_sim=True, daily_cap=0)
            for s in specs(sim)
        ],
    )
    gateway = Gateway(settings)
    statements = Counter[str]()

    @sa.event.listens_for(gateway.engine, "before_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        word = statement.split(None, 1)[0].upper()
        statements[word] += 1

    @sa.event.listens_for(gateway.engine, "commit")
    def _commit(conn: Any) -> None:
        statements["COMMIT"] += 1

    async def run() -> float:
        await gateway.start()
        start = time.monotonic()
        while sim.journal_count() < messages:
            await asyncio.sleep(0.2)
        took = time.monotonic() - start
        await gateway.stop()
        return took

    try:
        cpu0 = time.process_time()
        with Sampler() as sampler:
            took = asyncio.run(run())
        cpu = time.process_time() - cpu0
    finally:
        sim.stop()
    samples = sum(sampler.counts.values()) or 1
    return {
        "modems": modems,
        "parts": messages,
        "parts_per_min": messages / took * 60,
        "cpu_ms_per_part": cpu / messages * 1000,
        "where": {k: v / samples for k, v in sampler.counts.most_common()},
        "per_part": {k: v / messages for k, v in statements.most_common()},
    }


# --- command line ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pools", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("throughput")
    p.add_argument("--modems", default="1,4,64,256")
    p.add_argument("--databases", default="sqlite,postgresql")
    p.add_argument("--messages", type=int, default=3000)
    p = sub.add_parser("idle")
    p.add_argument("--modems", type=int, default=256)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--samples", type=int, default=15)
    p = sub.add_parser("memory")
    p.add_argument("--modems", type=int, default=256)
    p.add_argument("--queued", type=int, default=100_000)
    p = sub.add_parser("nodes")
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--modems-per-node", type=int, default=4)
    p.add_argument("--messages", type=int, default=3000)
    p.add_argument("--kill", action="store_true")
    p = sub.add_parser("profile")
    p.add_argument("--modems", type=int, default=4)
    p.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mg-pools-") as tmp:
        workdir = Path(tmp)
        results: list[dict[str, Any]] = []
        if args.what == "throughput":
            for kind in args.databases.split(","):
                for n in (int(x) for x in args.modems.split(",")):
                    results.append(throughput(workdir, kind, n, args.messages))
                    print(json.dumps(results[-1]), flush=True)
            rows = [
                [
                    r["database"],
                    str(r["modems"]),
                    f"{r['parts_per_min']:,.0f}",
                    f"{r['per_modem_per_min']:,.0f}",
                    f"{r['gateway_cpu_ms_per_part']:.2f}",
                    f"{r['simulator_cpu_ms_per_part']:.2f}",
                    "" if r["rows_written_per_part"] is None else f"{r['rows_written_per_part']:.1f}",
                    str(r["twice"]),
                ]
                for r in results
            ]
            head = ["database", "modems", "parts/min", "per modem", "gw CPU ms/part", "sim CPU ms/part", "rows/part"]
            print("\n".join(table([*head, "twice"], rows, markdown=True)))
        else:
            fn: Any = {"idle": idle, "memory": memory, "nodes": nodes, "profile": profile}[args.what]
            kwargs = {k: v for k, v in vars(args).items() if k != "what"}
            if args.what == "nodes":
                kwargs = {
                    "count": args.nodes,
                    "per_node": args.modems_per_node,
                    "messages": args.messages,
                    "kill": args.kill,
                }
            with nullcontext():
                print(json.dumps(fn(workdir, **kwargs), indent=1), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
