"""Side by side with gammu-smsd: the same messages, the same modems, the same network.

    python -m bench.smsd [--messages N] [--modems N] [--latency S] [--load F] [--seed S]
                         [--comm-timeout S] [--loop-sleep S] [--skip-modemgate] [--markdown | --json]

Both runs use `modemgate simulate --pty` (a fresh simulator each, with a journal that
stamps every part as its network receives it) whose modems take `--latency` seconds to
answer AT+CMGS (simulator fault `submit_delay`), and both open the modems' pseudo-
terminals, as they would open a USB modem's serial port.

- gammu-smsd (Debian's 1.42, files backend, default settings unless `--comm-timeout` /
  `--loop-sleep`): it drives one modem per daemon, so one daemon per modem, and message i
  goes to daemon i mod modems (an even split). A message is submitted by
  `gammu-smsd-inject -c CONFIG TEXT number -len L -text TEXT` (`-unicode` when the text
  needs UCS-2, as our encoder decides).
- `modemgate serve` on a SQLite file, each modem at the highest configurable rate
  (600 parts/min, so the modems' latency is the limit, not the rate limiter), submitted
  with `POST /v1/messages`.

The `--messages` messages (a third single-part GSM-7, the rest multipart GSM-7 or UCS-2,
in a seeded order) arrive at seeded random moments (a Poisson process) over a span
chosen so that the offered load is `--load` of what the modems can carry; the same
schedule for both. Measured from the journal, for each:
- completion: first submit -> the network's answer to the last part (stamp + latency);
- submit -> AT+CMGS: from just before the POST / the inject to the journal's stamp of
  the message's first part (p50, p99);
- modem utilisation: time the modems spent on AT+CMGS (parts x latency) over
  modems x completion;
- one part to the next of the same message (p50): the latency plus what the sender
  does per part, since it never waits for work there.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.measures import measured_on, percentile, table
from drivers.sms import split
from harness.livegateway import GatewayProcess, ModemSpec, SimulatorProcess, mixed_messages
from harness.waiting import wait_until

COMPLETION_TARGET = 0.8
LATENCY_TARGET = 0.1
# gammu reads -text through the locale: under LANG=C it sends non-ASCII text as empty.
GAMMU_ENV = {**os.environ, "LC_ALL": "C.UTF-8"}


@dataclass
class Planned:
    offset: float  # seconds after the first submit
    to: str
    text: str
    ucs2: bool
    parts: int


def plan(n: int, *, modems: int, latency: float, load: float, seed: int) -> list[Planned]:
    """`n` mixed messages in a seeded order at seeded moments; the load is what modems carry."""
    rng = random.Random(seed)
    messages = mixed_messages(n)
    rng.shuffle(messages)
    encoded = [split(text) for _, text in messages]  # as the gateway will encode them
    parts = sum(len(segs.payloads) for segs in encoded)
    span = parts * latency / modems / load  # seconds the modems need, stretched to the load
    offsets = sorted([0.0] + [rng.uniform(0, span) for _ in range(n - 1)])
    return [
        Planned(offset, to, text, segs.encoding == "ucs2", len(segs.payloads))
        for offset, (to, text), segs in zip(offsets, messages, encoded, strict=True)
    ]


def submit_on_schedule(schedule: Sequence[Planned], submit) -> dict[str, float]:
    """Call `submit(i, message)` at each message's moment; recipient -> epoch just before."""
    started = time.monotonic()
    times: dict[str, float] = {}
    for i, m in enumerate(schedule):
        time.sleep(max(0.0, started + m.offset - time.monotonic()))
        times[m.to] = time.time()
        submit(i, m)
    return times


# --- modemgate ----------------------------------------------------------------------------


def run_modemgate(workdir: Path, schedule: Sequence[Planned], *, modems: int, latency: float) -> dict[str, Any]:
    sim = SimulatorProcess(modems, workdir, name="mg-sim", options=("--pty",))
    gw = None
    try:
        for sim_id in sim.urls:
            sim.set_faults(sim_id, submit_delay=latency)
        specs = [ModemSpec(f"modem-{n}", path, 600, 10) for n, path in enumerate(sim.ptys.values(), 1)]
        gw = GatewayProcess(workdir, f"sqlite:///{workdir / 'mg.db'}", specs, name="mg").start()
        gw.wait_ready(s.id for s in specs)
        with httpx.Client(base_url=gw.url, headers=gw.headers, timeout=30) as client:

            def post(i: int, m: Planned) -> None:
                r = client.post("/v1/messages", json={"to": m.to, "text": m.text})
                r.raise_for_status()

            submitted = submit_on_schedule(schedule, post)
        want = sum(m.parts for m in schedule)
        wait_until(lambda: sim.journal_count() >= want, timeout=600, interval=0.2, what=f"{want} parts")
        time.sleep(latency + 0.5)  # the last answers; anything more would be a duplicate
        return measure("modemgate serve", schedule, submitted, sim.journal(), modems=modems, latency=latency)
    finally:
        if gw is not None:
            gw.stop()
        sim.stop()


# --- gammu-smsd ---------------------------------------------------------------------------


class SmsdDaemon:
    """`gammu-smsd -c CONFIG` on one modem's pseudo-terminal, files backend."""

    def __init__(
        self, workdir: Path, name: str, device: str, *, comm_timeout: float | None, loop_sleep: float | None
    ) -> None:
        self.dir = workdir / name
        for sub in ("inbox", "outbox", "sent", "error"):
            (self.dir / sub).mkdir(parents=True)
        lines = [
            "[gammu]",
            f"device = {device}",
            "connection = at",
            "",
            "[smsd]",
            "service = files",
            f"inboxpath = {self.dir / 'inbox'}/",
            f"outboxpath = {self.dir / 'outbox'}/",
            f"sentsmspath = {self.dir / 'sent'}/",
            f"errorsmspath = {self.dir / 'error'}/",
            f"logfile = {self.dir / 'smsd.log'}",
        ]
        if comm_timeout is not None:
            lines.append(f"commtimeout = {comm_timeout:g}")
        if loop_sleep is not None:
            lines.append(f"loopsleep = {loop_sleep:g}")
        self.config = self.dir / "smsdrc"
        self.config.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(
            ["gammu-smsd", "-c", str(self.config)], env=GAMMU_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self._connected, timeout=60, interval=0.5, what=f"gammu-smsd on {device}")

    def _connected(self) -> bool:
        """The daemon has talked to its modem: gammu-smsd-monitor shows the modem's IMEI."""
        if self.proc.poll() is not None:
            raise AssertionError(f"gammu-smsd exited with {self.proc.returncode}: {self.log()}")
        out = subprocess.run(
            ["gammu-smsd-monitor", "-c", str(self.config), "-n", "1", "-d", "0"],
            capture_output=True,
            text=True,
            env=GAMMU_ENV,
            timeout=10,
        )
        return any(line.startswith("IMEI:") and line.split(":", 1)[1].strip() for line in out.stdout.splitlines())

    def inject(self, m: Planned) -> None:
        command = ["gammu-smsd-inject", "-c", str(self.config), "TEXT", m.to, "-len", str(len(m.text))]
        if m.ucs2:
            command.append("-unicode")
        out = subprocess.run([*command, "-text", m.text], capture_output=True, text=True, env=GAMMU_ENV, timeout=30)
        if out.returncode != 0:
            raise RuntimeError(f"gammu-smsd-inject failed: {out.stderr[-500:]}")

    def log(self) -> str:
        path = self.dir / "smsd.log"
        return path.read_text(errors="replace")[-1500:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def run_smsd(
    workdir: Path,
    schedule: Sequence[Planned],
    *,
    modems: int,
    latency: float,
    comm_timeout: float | None,
    loop_sleep: float | None,
) -> dict[str, Any]:
    sim = SimulatorProcess(modems, workdir, name="smsd-sim", options=("--pty",))
    daemons: list[SmsdDaemon] = []
    try:
        for sim_id in sim.urls:
            sim.set_faults(sim_id, submit_delay=latency)
        for n, path in enumerate(sim.ptys.values(), 1):
            daemons.append(SmsdDaemon(workdir, f"smsd-{n}", path, comm_timeout=comm_timeout, loop_sleep=loop_sleep))
        submitted = submit_on_schedule(schedule, lambda i, m: daemons[i % modems].inject(m))
        want = sum(m.parts for m in schedule)

        def all_sent() -> bool:
            errors = [f for d in daemons for f in (d.dir / "error").iterdir()]
            if errors:
                raise AssertionError(f"gammu-smsd gave up on {len(errors)} messages: {daemons[0].log()}")
            return sim.journal_count() >= want

        wait_until(all_sent, timeout=1200, interval=0.5, what=f"{want} parts from gammu-smsd")
        time.sleep(latency + 0.5)
        label = "gammu-smsd 1.42" + _settings_label(comm_timeout, loop_sleep)
        return measure(label, schedule, submitted, sim.journal(), modems=modems, latency=latency)
    finally:
        for d in daemons:
            d.stop()
        sim.stop()


def _settings_label(comm_timeout: float | None, loop_sleep: float | None) -> str:
    changed = [
        f"{name}={value:g}"
        for name, value in (("CommTimeout", comm_timeout), ("LoopSleep", loop_sleep))
        if value is not None
    ]
    return f" ({', '.join(changed)})" if changed else " (defaults)"


# --- measures -----------------------------------------------------------------------------


def measure(
    label: str,
    schedule: Sequence[Planned],
    submitted: dict[str, float],
    journal: list[dict[str, Any]],
    *,
    modems: int,
    latency: float,
) -> dict[str, Any]:
    first_part: dict[str, float] = {}
    texts: dict[str, list[str]] = {}
    for e in journal:
        first_part.setdefault(e["recipient"], e["t"])
        texts.setdefault(e["recipient"], []).append(e["text"])
    start = min(submitted.values())
    completion = max(e["t"] for e in journal) + latency - start
    latencies = [first_part[m.to] - submitted[m.to] for m in schedule if m.to in first_part]
    intact = sum(1 for m in schedule if "".join(texts.get(m.to, [])) == m.text)
    # Between two parts of one message the sender never waits for work: the gap is the
    # network's latency plus what the sender does per part.
    gaps, last = [], {}
    for e in journal:
        if e["concat"] and e["concat"]["seq"] > 1 and e["recipient"] in last:
            gaps.append(e["t"] - last[e["recipient"]])
        last[e["recipient"]] = e["t"]
    return {
        "system": label,
        "messages": len(schedule),
        "messages_sent": len(latencies),
        "messages_intact": intact,  # every part once, in order, with the text as submitted
        "parts": len(journal),
        "completion_s": completion,
        "latency_p50_s": percentile(latencies, 50),
        "latency_p99_s": percentile(latencies, 99),
        "utilisation": len(journal) * latency / (modems * completion),
        "part_to_part_p50_s": percentile(gaps, 50),
    }


# --- report -------------------------------------------------------------------------------


def report(mg: dict[str, Any] | None, smsd: dict[str, Any], setup: dict[str, Any], markdown: bool) -> str:
    def row(name: str, key: str, fmt: str, target: str) -> tuple[str, ...]:
        theirs = smsd[key]
        if mg is None:
            return (name, "", fmt.format(theirs), "", target)
        ratio = f"{mg[key] / theirs:.3f}x" if theirs else ""
        return (name, fmt.format(mg[key]), fmt.format(theirs), ratio, target)

    rows = [
        row("completion, first submit -> last part answered", "completion_s", "{:.1f} s", f"<= {COMPLETION_TARGET}x"),
        row("submit -> first AT+CMGS, p50", "latency_p50_s", "{:.2f} s", f"<= {LATENCY_TARGET}x"),
        row("submit -> first AT+CMGS, p99", "latency_p99_s", "{:.2f} s", ""),
        row("modem utilisation (AT+CMGS time / modems x completion)", "utilisation", "{:.1%}", ""),
        row("one part to the next of the same message, p50", "part_to_part_p50_s", "{:.2f} s", ""),
        row("parts on the network", "parts", "{}", ""),
        row("messages received intact", "messages_intact", "{}", ""),
    ]
    head = ("measure", mg["system"] if mg else "modemgate serve", smsd["system"], "modemgate / gammu-smsd", "target")
    lines = table(head, rows, markdown=markdown)
    lines.append("")
    lines.append(
        f"{setup['messages']} messages ({setup['parts']} parts) over {setup['modems']} modems at "
        f"{setup['latency']:g} s per AT+CMGS, arriving over {setup['span']:.0f} s (offered load "
        f"{setup['load']:.0%} of the modems' capacity), seed {setup['seed']}; {measured_on()}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--modems", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds each AT+CMGS takes")
    parser.add_argument("--load", type=float, default=0.8, help="offered load, share of the modems' capacity")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--comm-timeout", type=float, help="gammu-smsd CommTimeout (default: gammu's, 30 s)")
    parser.add_argument("--loop-sleep", type=float, help="gammu-smsd LoopSleep (default: gammu's, 1 s)")
    parser.add_argument("--skip-modemgate", action="store_true", help="run gammu-smsd only")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--json", action="store_true", help="print the measures as JSON")
    args = parser.parse_args()
    if not shutil.which("gammu-smsd"):
        raise SystemExit("gammu-smsd is not installed (Debian: apt-get install gammu-smsd)")
    schedule = plan(args.messages, modems=args.modems, latency=args.latency, load=args.load, seed=args.seed)
    setup = {
        "messages": args.messages,
        "parts": sum(m.parts for m in schedule),
        "modems": args.modems,
        "latency": args.latency,
        "load": args.load,
        "span": schedule[-1].offset,
        "seed": args.seed,
    }
    with tempfile.TemporaryDirectory(prefix="modemgate-smsd-") as tmp:
        workdir = Path(tmp)
        mg = None if args.skip_modemgate else run_modemgate(workdir, schedule, modems=args.modems, latency=args.latency)
        smsd = run_smsd(
            workdir,
            schedule,
            modems=args.modems,
            latency=args.latency,
            comm_timeout=args.comm_timeout,
            loop_sleep=args.loop_sleep,
        )
    if args.json:
        print(json.dumps({"setup": setup, "modemgate": mg, "gammu_smsd": smsd}, indent=2))
    else:
        print(report(mg, smsd, setup, args.markdown))


if __name__ == "__main__":
    main()
