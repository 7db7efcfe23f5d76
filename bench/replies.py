"""Reply latency during a campaign, and STOP latency in a burst of received messages.

    python -m bench.replies [--campaign N] [--codes N] [--burst N] [--write]

Real processes (`modemgate simulate`, `modemgate serve` on a fresh SQLite file), driven as
a user would (harness/livegateway.py):

- **replies during a campaign**: N marketing messages queued as a campaign's expansion
  queues them (harness/queueload.py), sent through 4 simulated modems at 600 parts/min each;
  once the campaign is under way, one one-time code (`POST /v1/messages`, transactional)
  and one STOP from a campaign recipient (simulator control API) every second. Latency:
  from the `POST` (or the STOP reaching the network) to the simulator's stamp of the code
  (or of the STOP confirmation) at the network.
- **inbound burst**: N received messages (every fifth a STOP, each from its own number)
  handed to one simulated modem as fast as the control API takes them; the SIM holds 30,
  the network keeps the rest until a slot is freed. The gateway's storage poll is set to a
  day, so only +CMTI brings a message in. Latency: from the message reaching the network
  to its row in the inbox (for a STOP: to its opt-out), so it includes the wait for a free
  slot on the SIM.

Prints a markdown section; `--write` puts it in BENCHMARKS.md (replacing that section only).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.measures import reproduce, wrap, write_section
from gateway.audience.consent import number_hash
from gateway.core.db import create_engine_for
from gateway.core.models import InboundMessage, Suppression
from harness.livegateway import GatewayProcess, ModemSpec, SimulatorProcess
from harness.queueload import OPEN_WINDOW, marketing_numbers, percentile, queue_marketing
from harness.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Replies and inbound bursts"
MODEMS = 4
NOTE = (
    "Served oldest first (the queue's order before priorities), a code waits for every marketing "
    "message still queued when it was posted: the estimate is that count (p50 over the codes) over "
    "the send rate measured in the run. The burst is handed over as fast as the simulator's control "
    "API takes it, which on 2 shared cores is about as fast as the gateway stores it; what matters "
    "is that none waits for the storage poll (60 s by default). "
    "`tests/integration/test_queue_order.py` (1,000 marketing messages queued) and "
    "`tests/integration/test_inbound_burst.py` (500 received, storage poll a day apart) assert the "
    "order and that every message and opt-out arrives; the figures are measured here only."
)
RATE = 600  # parts per minute per modem (the most a modem may be configured for)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaign", type=int, default=10_000, help="marketing messages queued")
    parser.add_argument("--codes", type=int, default=30, help="codes (and as many STOPs), one a second")
    parser.add_argument("--burst", type=int, default=500, help="received messages in the burst")
    parser.add_argument("--write", action="store_true", help="update the section in BENCHMARKS.md")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-replies-") as tmp:
        replies = run_replies(Path(tmp) / "replies", args.campaign, args.codes)
        burst = run_burst(Path(tmp) / "burst", args.burst)
    text = section(args, replies, burst, time.monotonic() - started)
    print(text)
    if args.write:
        write_section(ROOT / "BENCHMARKS.md", text, SECTION)
    return 0


# --- replies during a campaign ------------------------------------------------------------


def run_replies(workdir: Path, campaign: int, codes: int) -> dict[str, float]:
    workdir.mkdir(parents=True)
    url = f"sqlite:///{workdir / 'modemgate.db'}"
    sim = SimulatorProcess(MODEMS, workdir)
    gw: GatewayProcess | None = None
    try:
        queue_marketing(url, campaign)
        marketing = set(marketing_numbers(campaign))
        stoppers = marketing_numbers(campaign)[-codes:]  # at the end of the campaign's queue
        specs = [ModemSpec(f"modem-{i}", u, RATE, 5) for i, u in enumerate(sim.urls.values(), 1)]
        gw = GatewayProcess(workdir, url, specs, extra=OPEN_WINDOW).start()
        wait_until(lambda: sim.journal_count() >= 50, timeout=120, what="the campaign under way")
        sim_ids = list(sim.urls)
        asked: dict[str, float] = {}  # recipient -> when the code was posted / the STOP arrived
        for i in range(codes):
            to = f"+3161{i:07d}"
            asked[to] = time.time()
            r = gw.client.post("/v1/messages", json={"to": to, "text": f"Your code is {100000 + i}"})
            r.raise_for_status()
            asked[stoppers[i]] = time.time()
            sim.inbound(sim_ids[i % MODEMS], stoppers[i], "STOP")
            time.sleep(1.0)
        wait_until(
            lambda: set(asked) <= {e["recipient"] for e in sim.journal()},
            timeout=120,
            what="every code and STOP confirmation sent",
        )
        journal = sim.journal()
        first: dict[str, float] = {}
        for e in journal:
            first.setdefault(e["recipient"], e["t"])
        code_latency = [first[to] - t for to, t in asked.items() if to not in marketing]
        stop_latency = [first[to] - t for to, t in asked.items() if to in marketing]
        last_reply = max(first[to] for to in asked)
        sent = [e for e in journal if e["recipient"] in marketing]
        span = sent[-1]["t"] - sent[0]["t"]
        rate = (len(sent) - 1) / span if span > 0 else 0.0
        # Oldest first, a code would have waited for every marketing message still queued.
        behind = [campaign - sum(1 for e in sent if e["t"] <= t) for to, t in asked.items() if to not in marketing]
        return {
            "code_p50": percentile(code_latency, 50),
            "code_max": max(code_latency),
            "stop_p50": percentile(stop_latency, 50),
            "stop_max": max(stop_latency),
            "campaign": campaign,
            "codes": codes,
            "marketing_sent": sum(1 for e in sent if e["t"] <= last_reply),
            "rate": rate,
            "fifo_wait": percentile(behind, 50) / rate if rate else float("nan"),
        }
    finally:
        if gw is not None:
            gw.stop()
        sim.stop()


# --- inbound burst ------------------------------------------------------------------------


def run_burst(workdir: Path, burst: int) -> dict[str, float]:
    workdir.mkdir(parents=True)
    url = f"sqlite:///{workdir / 'modemgate.db'}"
    sim = SimulatorProcess(1, workdir)
    gw: GatewayProcess | None = None
    engine = create_engine_for(url)
    try:
        sim_id, port = next(iter(sim.urls.items()))
        gw = GatewayProcess(workdir, url, [ModemSpec("modem-1", port, RATE, 5, storage_poll=86_400)]).start()
        gw.wait_ready(["modem-1"])
        arrived: dict[str, float] = {}
        stops: set[str] = set()
        with httpx.Client(base_url=sim.control, timeout=10) as control:
            for i in range(burst):
                sender = f"+3168{i:07d}"
                text = "STOP" if i % 5 == 0 else f"Hello {i}, is the shop open on Sunday?"
                if text == "STOP":
                    stops.add(sender)
                arrived[sender] = time.time()
                control.post("/inbound", json={"modem": sim_id, "sender": sender, "text": text}).raise_for_status()
        injected = time.time() - min(arrived.values())

        def count() -> int:
            with engine.connect() as conn:
                return conn.execute(sa.select(sa.func.count()).select_from(InboundMessage)).scalar_one()

        wait_until(lambda: count() >= burst, timeout=600, interval=0.5, what=f"{burst} messages stored", last=count)
        with engine.connect() as conn:
            stored = {r.sender: r.received_at.timestamp() for r in conn.execute(sa.select(InboundMessage))}
            opted = {r.number_hash: r.created_at.timestamp() for r in conn.execute(sa.select(Suppression))}
        latency = [stored[s] - t for s, t in arrived.items()]
        stop_latency = [opted[number_hash(s)] - arrived[s] for s in stops]
        return {
            "burst": burst,
            "stops": len(stops),
            "injected": injected,
            "all_p50": percentile(latency, 50),
            "all_max": max(latency),
            "stop_p50": percentile(stop_latency, 50),
            "stop_max": max(stop_latency),
            "span": max(stored.values()) - min(arrived.values()),
        }
    finally:
        engine.dispose()
        if gw is not None:
            gw.stop()
        sim.stop()


# --- the section --------------------------------------------------------------------------


def section(args: argparse.Namespace, r: dict[str, float], b: dict[str, float], total: float) -> str:
    command = "python -m bench.replies"
    if (args.campaign, args.codes, args.burst) != (10_000, 30, 500):
        command += f" --campaign {args.campaign} --codes {args.codes} --burst {args.burst}"
    lines = [
        SECTION,
        "",
        "`modemgate serve` on a fresh SQLite file against `modemgate simulate`, real processes driven "
        "through HTTP (`bench/replies.py`, `harness/queueload.py`).",
        "",
        f"- **Replies during a campaign**: {r['campaign']:,} marketing messages queued as a campaign's "
        f"expansion queues them, {MODEMS} simulated modems at {RATE} parts/min each; once it is under "
        f"way, a one-time code (`POST /v1/messages`) and a STOP from a campaign recipient every second, "
        f"{r['codes']} of each. Latency: `POST` (or the STOP reaching the network) to the network's "
        "stamp of the code (or the STOP confirmation).",
        f"- **Inbound burst**: {b['burst']} received messages ({b['stops']} of them STOP, each from its "
        f"own number) handed to one simulated modem in {b['injected']:.1f} s; its SIM holds 30, the "
        "network keeps the rest until a slot is freed. Storage poll set to a day: only `+CMTI` brings "
        "a message in. Latency: the message reaching the network to its inbox row (a STOP: to its "
        "opt-out), so it includes the wait for a free slot on the SIM.",
        "",
        "| measure | p50 | max | context |",
        "| --- | ---: | ---: | --- |",
        f"| reply latency during a campaign: one-time code | {r['code_p50']:.2f} s | {r['code_max']:.2f} s | "
        f"{r['marketing_sent']:,} of {r['campaign']:,} marketing sent when the last reply left, "
        f"{r['rate']:.1f} messages/s; served oldest first, a code would have waited ≈ {r['fifo_wait']:,.0f} s (p50) |",
        f"| reply latency during a campaign: STOP → confirmation | {r['stop_p50']:.2f} s | "
        f"{r['stop_max']:.2f} s | the same run |",
        f"| inbound burst: STOP latency (to the opt-out) | {b['stop_p50']:.2f} s | {b['stop_max']:.2f} s | "
        f"{b['stops']} STOPs among {b['burst']} messages |",
        f"| inbound burst: every message (to the inbox) | {b['all_p50']:.2f} s | {b['all_max']:.2f} s | "
        f"all {b['burst']} stored {b['span']:.1f} s after the first arrived "
        f"({b['burst'] / b['span']:.1f} messages/s) |",
        "",
        NOTE,
        "",
        *reproduce(command + " --write", f"{total:.0f} s for both runs"),
    ]

    return "\n".join(wrap(line) for line in lines)


if __name__ == "__main__":
    sys.exit(main())
