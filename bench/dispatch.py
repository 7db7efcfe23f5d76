"""Dispatch: modem utilisation, idle submit latency, and the cost of the API's submit path.

    python -m bench.dispatch [--window S] [--samples N] [--requests N] [--concurrency N] [--markdown]

Everything runs as real processes on this machine, driven as a user would drive them:
`modemgate simulate` (simulated modems on TCP, a journal of every part its network
accepts, stamped on arrival) and `modemgate serve` on a SQLite file, through HTTP.

(a) utilisation: 4 simulated modems that each take `--latency` seconds (simulator fault
    `submit_delay`) to answer AT+CMGS, each configured for `--rate` parts/min (burst 2),
    with more work queued than they can send in `--window` seconds. Per modem, from the
    journal stamps within the window: (parts - burst) / (last - first), the parts beyond
    the initial burst over their span, which the token bucket caps at the configured
    rate. Target >= 98 % of the configured rate.
(b) idle latency: one message at a time (`--samples`) to an idle gateway; from just before
    the POST to the journal's stamp of the part (the simulator's receipt of AT+CMGS).
    Target p50 < 50 ms.
(c) submit throughput: `--requests` POST /v1/messages (auth, validation, encoding, one
    transaction for the message and its parts, 202 with the stored message) against a
    bare FastAPI handler that inserts one row into a SQLite database set up the same way
    (gateway.core.db: WAL, synchronous=FULL, BEGIN IMMEDIATE), served by uvicorn the same way,
    with the same httpx client and `--concurrency` requests in flight; alternating, best
    of 3 each. The gateway's modems are disabled meanwhile, so both measure the request
    path alone. Target >= 0.5x.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from pydantic import BaseModel

from bench.measures import measured_on, percentile, table
from harness.livegateway import (
    GatewayProcess,
    ModemSpec,
    SimulatorProcess,
    free_port,
    mixed_messages,
)
from harness.waiting import wait_until

UTILISATION_TARGET = 0.98
LATENCY_TARGET_MS = 50.0
THROUGHPUT_TARGET = 0.5
BURST = 2


# --- (a) utilisation ----------------------------------------------------------------------


def utilisation(workdir: Path, *, modems: int, rate: float, latency: float, window: float) -> dict[str, object]:
    sim = SimulatorProcess(modems, workdir, name="util-sim")
    gw = None
    try:
        for sim_id in sim.urls:
            sim.set_faults(sim_id, submit_delay=latency)
        specs = [ModemSpec(f"m{i}", url, rate, BURST) for i, url in enumerate(sim.urls.values(), 1)]
        gw = GatewayProcess(workdir, f"sqlite:///{workdir / 'util.db'}", specs, name="util-gw").start()
        gw.wait_ready(s.id for s in specs)
        # More than the modems can send in the window: they never wait for work.
        backlog = int(modems * rate * (window + 10) / 60)
        gw.submit_all(mixed_messages(backlog // 2 + 10), concurrency=8)
        wait_until(lambda: sim.journal_count() > 0, timeout=10, what="a first part")
        first = sim.journal()[0]["t"]
        time.sleep(max(0.0, first + window - time.time()))
        journal = [e for e in sim.journal() if e["t"] <= first + window]
    finally:
        if gw is not None:
            gw.stop()
        sim.stop()
    per_modem = {}
    for sim_id in sim.urls:
        ts = sorted(e["t"] for e in journal if e["modem"] == sim_id)
        # The bucket lets through at most burst + rate * (last - first) parts: the burst at
        # once, then the rate. Achieved: the parts beyond the burst over that span.
        span = ts[-1] - ts[0] if len(ts) > 1 else 0.0
        achieved = (len(ts) - BURST) / span * 60.0 if span > 0 else 0.0
        per_modem[sim_id] = {"parts": len(ts), "per_minute": achieved, "ratio": achieved / rate}
    total = sum(m["per_minute"] for m in per_modem.values())
    return {
        "modems": modems,
        "rate": rate,
        "latency": latency,
        "window": window,
        "per_modem": per_modem,
        "total_per_minute": total,
        "ratio": total / (rate * modems),
        "worst_ratio": min(m["ratio"] for m in per_modem.values()),
    }


# --- (b) idle latency and (c) submit throughput --------------------------------------------


def latency_and_throughput(workdir: Path, *, samples: int, requests: int, concurrency: int) -> dict[str, object]:
    sim = SimulatorProcess(2, workdir, name="lat-sim")
    gw = bare = None
    try:
        specs = [ModemSpec(f"m{i}", url, 600, 5) for i, url in enumerate(sim.urls.values(), 1)]
        gw = GatewayProcess(workdir, f"sqlite:///{workdir / 'lat.db'}", specs, name="lat-gw").start()
        gw.wait_ready(s.id for s in specs)
        latencies, posts = idle_latency(gw, sim, samples)

        for s in specs:
            gw.patch_modem(s.id, enabled=False)
        bare = BareApp(workdir)
        ours: list[float] = []
        theirs: list[float] = []
        for round_ in range(3):
            ours.append(throughput(gw.url, gw.headers, requests, concurrency, f"r{round_}-"))
            theirs.append(throughput(bare.url, {}, requests, concurrency, f"r{round_}-"))
    finally:
        if bare is not None:
            bare.stop()
        if gw is not None:
            gw.stop()
        sim.stop()
    return {
        "samples": samples,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        "post_p50": percentile(posts, 50),
        "requests": requests,
        "concurrency": concurrency,
        "ours": max(ours),
        "bare": max(theirs),
        "ratio": max(ours) / max(theirs),
    }


def idle_latency(gw: GatewayProcess, sim: SimulatorProcess, samples: int) -> tuple[list[float], list[float]]:
    """Milliseconds from POST to the simulator's stamp, and from POST to the 202."""
    latencies, posts = [], []
    with httpx.Client(base_url=gw.url, headers=gw.headers, timeout=30) as client:
        for i in range(samples + 3):
            count = sim.journal_count()
            started = time.time()
            r = client.post("/v1/messages", json={"to": f"+3165{i:07d}", "text": f"latency probe {i}"})
            answered = time.time()
            assert r.status_code == 202, r.text
            wait_until(lambda: sim.journal_count() > count, timeout=10, interval=0.002, what="the part")  # noqa: B023 (waited on here)
            stamped = sim.journal()[-1]["t"]
            if i >= 3:  # the first few warm up connections and caches
                latencies.append((stamped - started) * 1000)
                posts.append((answered - started) * 1000)
            time.sleep(0.25)  # idle again: the report is in, the workers wait for work
    return latencies, posts


def throughput(url: str, headers: dict[str, str], n: int, concurrency: int, tag: str) -> float:
    """Requests per second for `n` POST /v1/messages with `concurrency` in flight."""

    async def run() -> float:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits) as client:
            todo = iter(range(n))

            async def worker() -> None:
                for i in todo:
                    r = await client.post("/v1/messages", json={"to": f"+3166{i:07d}", "text": f"{tag}{i} hello"})
                    assert r.status_code == 202, r.text

            await client.post("/v1/messages", json={"to": "+31660000000", "text": "warm-up"})
            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return n / (time.perf_counter() - started)

    return asyncio.run(run())


class BareApp:
    """This module with --bare-app: FastAPI, one handler, one INSERT per request."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # In this process's working directory, the repository's root (`python -m bench.dispatch`).
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.dispatch",
                "--bare-app",
                "--port",
                str(self.port),
                "--database",
                str(workdir / "bare.db"),
            ],
        )

        def up() -> bool:
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=30, what="the bare app")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class BareMessageIn(BaseModel):
    to: str
    text: str


def serve_bare_app(port: int, database: str) -> None:
    import sqlalchemy as sa
    import uvicorn
    from fastapi import FastAPI

    from gateway.core.db import create_engine_for, transaction

    engine = create_engine_for(f"sqlite:///{database}")
    metadata = sa.MetaData()
    rows = sa.Table(
        "message",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("recipient", sa.String, nullable=False),
        sa.Column("text", sa.String, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    metadata.create_all(engine)
    app = FastAPI()

    @app.post("/v1/messages", status_code=202)
    def create(body: BareMessageIn) -> dict[str, object]:
        with transaction(engine) as conn:
            new_id = conn.execute(
                sa.insert(rows).values(recipient=body.to, text=body.text, created_at=time.time())
            ).inserted_primary_key[0]
        return {"id": new_id, "to": body.to, "text": body.text, "status": "queued"}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# --- report -------------------------------------------------------------------------------


def report(a: dict, b: dict, markdown: bool) -> str:
    rows = [
        (
            "(a) utilisation, 4 modems x {rate:g}/min, {lat:g} s per AT+CMGS".format(rate=a["rate"], lat=a["latency"]),
            f"{a['total_per_minute']:.1f} parts/min",
            f"{a['rate'] * a['modems']:g} parts/min configured",
            f"{a['ratio']:.1%} (worst modem {a['worst_ratio']:.1%})",
            f">= {UTILISATION_TARGET:.0%}",
        ),
        (
            "(b) idle submit -> AT+CMGS, p50",
            f"{b['p50']:.1f} ms",
            f"POST -> 202 p50 {b['post_p50']:.1f} ms",
            "",
            f"< {LATENCY_TARGET_MS:g} ms",
        ),
        (
            "(b) idle submit -> AT+CMGS, p99",
            f"{b['p99']:.1f} ms",
            f"max {b['max']:.1f} ms ({b['samples']} samples)",
            "",
            "",
        ),
        (
            "(c) POST /v1/messages, requests/s",
            f"{b['ours']:.0f}",
            f"bare FastAPI + INSERT {b['bare']:.0f}",
            f"{b['ratio']:.2f}x",
            f">= {THROUGHPUT_TARGET}x",
        ),
    ]
    head = ("measure", "ours", "reference", "ratio", "target")
    lines = table(head, rows, markdown=markdown)
    per = ", ".join(f"{k} {v['per_minute']:.1f}/min ({v['parts']} parts)" for k, v in a["per_modem"].items())
    lines.append("")
    lines.append(f"per modem over {a['window']:g} s: {per}")
    lines.append(f"(c): {b['requests']} requests, {b['concurrency']} in flight, best of 3 each; {measured_on()}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=float, default=40.0, help="seconds of utilisation measured")
    parser.add_argument("--rate", type=float, default=120.0, help="configured parts/min per modem")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds each AT+CMGS takes")
    parser.add_argument("--samples", type=int, default=100, help="idle latency samples")
    parser.add_argument("--requests", type=int, default=1000, help="POSTs per throughput round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--bare-app", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_app:
        serve_bare_app(args.port, args.database)
        return
    with tempfile.TemporaryDirectory(prefix="modemgate-bench-") as tmp:
        workdir = Path(tmp)
        a = utilisation(workdir, modems=4, rate=args.rate, latency=args.latency, window=args.window)
        b = latency_and_throughput(workdir, samples=args.samples, requests=args.requests, concurrency=args.concurrency)
    print(report(a, b, args.markdown))


if __name__ == "__main__":
    main()
