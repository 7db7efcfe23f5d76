"""Shutdown and second instance: `modemgate serve` stopped with SIGTERM in the middle of
multipart sends on a slow simulated network, then restarted; and a second `modemgate serve`
started on the same SQLite file.

    python -m bench.shutdown [--runs N (default 5)] [--write]

Prints a markdown section; `--write` puts it in BENCHMARKS.md (replacing the section
"Shutdown and second instance" only). Real processes (harness/livegateway.py), a fresh
SQLite file per run.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.measures import reproduce, wrap, write_section
from harness.livegateway import GatewayProcess, ModemSpec, SimulatorProcess, journal_messages, part_key
from harness.stopstate import left_in_the_middle
from harness.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Shutdown and second instance"
MESSAGES = 8
WORDS = 140  # 6 GSM-7 parts per message


@dataclass
class Case:
    name: str
    submit_delay: float  # seconds the simulated network takes to answer each AT+CMGS
    drain_timeout: float | None  # None: the default (30 s)
    second_instance: bool = False


CASES = [
    Case("SIGTERM drain, default grace (30 s)", 0.4, None),
    Case("SIGTERM drain, grace 1 s", 0.7, 1.0),
    Case("second instance on the same SQLite file", 0.3, None, second_instance=True),
]


@dataclass
class Run:
    exit_status: int
    seconds: float  # SIGTERM -> exit, or start -> refusal
    drained: float | None = None  # the drain itself, as the gateway logged it
    finished_parts: int = 0  # parts the network got after the SIGTERM
    given_back: int = 0  # messages queued again with some parts sent
    half_sent_at_exit: int = 0  # messages the network had only part of at exit
    doubled: int = 0  # parts the network got twice in the end
    lost: int = 0  # messages not whole in the end
    line: str = ""
    notes: list[str] = field(default_factory=list)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per case")
    parser.add_argument("--write", action="store_true", help="update the section of BENCHMARKS.md")
    args = parser.parse_args()
    started = time.monotonic()
    results = []
    for case in CASES:
        runs = []
        for n in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                run = run_case(case, Path(tmp))
            print(f"{case.name} #{n + 1}: {run}", file=sys.stderr)
            runs.append(run)
        results.append((case, runs))
    text = section(results, args.runs, time.monotonic() - started)
    print(text)
    if args.write:
        write_section(ROOT / "BENCHMARKS.md", text, SECTION)
    # With the default grace every message in hand finishes; with a short one some go back
    # half-sent, and the restart completes them. Either way nothing twice, nothing lost.
    ok = all(
        r.doubled == 0 and r.lost == 0 and (case.drain_timeout is not None or r.half_sent_at_exit == 0)
        for case, runs in results
        for r in runs
    )
    return 0 if ok else 1


def run_case(case: Case, workdir: Path) -> Run:
    sim = SimulatorProcess(2, workdir)
    gateways: list[GatewayProcess] = []
    try:
        for modem in sim.urls:
            sim.set_faults(modem, submit_delay=case.submit_delay)
        specs = [ModemSpec(f"modem-{n}", url, 600, 5) for n, url in enumerate(sim.urls.values(), 1)]
        url = f"sqlite:///{workdir / 'modemgate.db'}"
        settings = {} if case.drain_timeout is None else {"drain_timeout": case.drain_timeout}
        gw = GatewayProcess(workdir, url, specs, settings=settings)
        gateways.append(gw)
        gw.start()
        gw.wait_ready(s.id for s in specs)
        messages = [(f"+3166{i:07d}", f"{i}: " + " ".join(f"w{i}x{j}" for j in range(WORDS))) for i in range(MESSAGES)]
        ids = gw.submit_all(messages)
        wait_until(lambda: sim.journal_count() >= 7, timeout=60, interval=0.02, what="parts going out")
        if case.second_instance:
            second = GatewayProcess(workdir, url, specs, name="second", key=gw.key)
            gateways.append(second)
            clock = time.monotonic()
            refused = second.run_refused()
            line = refused.stderr.strip().splitlines()[-1].replace(str(workdir), "DIR")
            run = Run(
                refused.returncode, time.monotonic() - clock, line=re.sub(r"pid \d+ on \S+\)", "pid N on HOST)", line)
            )
        else:
            at_signal = sim.journal_count()
            clock = time.monotonic()
            status = gw.terminate(timeout=120)
            run = Run(status, time.monotonic() - clock, finished_parts=sim.journal_count() - at_signal)
            logged = re.findall(r"drained in ([0-9.]+) s", gw.log(tail=None))
            run.drained = float(logged[-1]) if logged else None
            orphans: list[dict] = []
            journal_messages(sim.journal(), orphans)
            run.half_sent_at_exit = len({o["recipient"] for o in orphans})
            run.given_back = left_in_the_middle(url)["queued with parts sent"]
            gw.start()
        gw.wait_all(ids, "delivered", timeout=180)
        journal = sim.journal()
        run.doubled = sum(n - 1 for n in Counter(part_key(e) for e in journal).values())
        whole = Counter((m["recipient"], m["text"]) for m in journal_messages(journal))
        run.lost = sum(1 for m in messages if whole[m] != 1)
        return run
    finally:
        for g in gateways:
            g.stop()
        sim.stop()


def section(results: list[tuple[Case, list[Run]]], runs: int, total: float) -> str:
    out = [
        SECTION,
        "",
        f"`modemgate serve` with two simulated modems (`modemgate simulate`, its network slowed by the "
        f"`submit_delay` fault, so every `AT+CMGS` waits that long for its answer) sends {MESSAGES} messages of "
        "6 GSM-7 parts each; once 7 parts are out it gets SIGTERM, and is started again after it exited. In "
        "the second-instance case a second `modemgate serve` with the same settings is started on the same "
        f"SQLite file instead. {runs} runs per case, a fresh database each; times are wall time.",
        "",
        "| case | AT+CMGS takes | exit status | SIGTERM → exit (or start → refusal), p50 / max | drain as "
        "logged, max | parts the network "
        "got after SIGTERM | messages given back between parts | half-sent at exit | parts sent twice | "
        "messages lost |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case, rs in results:
        statuses = ", ".join(f"{s} × {n}" for s, n in Counter(r.exit_status for r in rs).items())
        secs = [r.seconds for r in rs]
        drain = "" if case.second_instance else sum(r.finished_parts for r in rs)
        back = "" if case.second_instance else sum(r.given_back for r in rs)
        half = "" if case.second_instance else sum(r.half_sent_at_exit for r in rs)
        logged = [r.drained for r in rs if r.drained is not None]
        drained = f"{max(logged):.1f} s" if logged else ""
        out.append(
            f"| {case.name} | {case.submit_delay:g} s | {statuses} | {statistics.median(secs):.1f} s / "
            f"{max(secs):.1f} s | {drained} | {drain} | {back} | {half} | {sum(r.doubled for r in rs)} | "
            f"{sum(r.lost for r in rs)} |"
        )
    lines = {r.line for _, rs in results for r in rs if r.line}
    out += [
        "",
        "Totals over the runs. The second instance's one line: "
        + "; ".join(f"`{line}`" for line in sorted(lines)).replace("|", "/"),
        "",
        *reproduce("python -m bench.shutdown --write", f"{total:.0f} s in all"),
    ]
    return "\n".join(wrap(line) for line in out)


if __name__ == "__main__":
    sys.exit(main())
