"""Slow webhook receivers: how long a fast receiver waits for its events while others hang.

    python -m bench.receivers [--messages N] [--write]

Real processes (`modemgate simulate` with 4 modems, `modemgate serve` on a fresh SQLite
file), three API keys, each with one webhook for `message.status` and `delivery_report` on
127.0.0.1 (allowed by `[webhooks] allow_networks`; time limit per attempt 3 s, 2 attempts
at once per endpoint). N messages per key, posted round-robin. Two runs:

- **with slow receivers**: one receiver accepts connections and never answers, one answers a
  byte every 5 s, one answers at once (harness/receivers.py);
- **all fast**: the same traffic, all three receivers answer at once.

For the fast receiver (the third key's, in both runs): the delay from each event's
`created_at` to its arrival (p50 / p95 / max) and how many events it got; for the slow ones:
attempts made, attempts cut at the time limit (connection held ≥ 90 % of it) and the most
connections open at once. The run ends when every message of the fast key is delivered and
its receiver has each one's `delivered` event (bounded waits throughout).

Prints a markdown section; `--write` puts it in BENCHMARKS.md (replacing that section only).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.measures import percentile, reproduce, wrap, write_section
from harness.livegateway import GatewayProcess, ModemSpec, SimulatorProcess
from harness.receivers import Connections, Got, create_key, fast_receiver, raw_receiver
from harness.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Slow webhook receivers"
LIMIT = 3.0  # [webhooks] timeout: seconds per attempt, all included
PER_ENDPOINT = 2
TRICKLE = 5.0  # seconds between the trickling receiver's bytes
MODEMS = 4
EVENTS = ["message.status", "delivery_report"]
NAMES = ("hangs", "trickles", "fast")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200, help="messages per key")
    parser.add_argument("--write", action="store_true", help="update the section in BENCHMARKS.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-receivers-") as tmp:
        slow = one_run(Path(tmp) / "slow", args.messages, with_slow=True)
        fast = one_run(Path(tmp) / "fast", args.messages, with_slow=False)
    text = section(args.messages, slow, fast, time.monotonic() - started)
    print(text)
    if args.write:
        write_section(ROOT / "BENCHMARKS.md", text, SECTION)
    return 0


def one_run(workdir: Path, messages: int, *, with_slow: bool) -> dict[str, Any]:
    workdir.mkdir(parents=True)
    sim = SimulatorProcess(MODEMS, workdir)
    gw: GatewayProcess | None = None
    try:
        modems = [ModemSpec(m, url, sends_per_minute=600, burst=5) for m, url in sim.urls.items()]
        extra = f'\n[webhooks]\nallow_networks = ["127.0.0.1/32"]\ntimeout = {LIMIT}\nper_endpoint = {PER_ENDPOINT}\n'
        gw = GatewayProcess(workdir, f"sqlite:///{workdir / 'modemgate.db'}", modems, extra=extra)
        keys = {name: create_key(gw, name) for name in NAMES}
        gw.start().wait_ready(sim.urls, timeout=60)
        with ExitStack() as stack:
            raws: dict[str, Connections] = {}
            urls: dict[str, str] = {}
            fast_got: list[Got] = []
            for name, every in (("hangs", None), ("trickles", TRICKLE)):
                if with_slow:
                    raws[name] = stack.enter_context(raw_receiver(every))
                    urls[name] = raws[name].url
                else:
                    urls[name], _ = stack.enter_context(fast_receiver())
            urls["fast"], fast_got = stack.enter_context(fast_receiver())
            for name in NAMES:
                r = gw.client.post("/v1/webhooks", headers=keys[name], json={"url": urls[name], "events": EVENTS})
                assert r.status_code == 201, r.text

            ours: list[str] = []
            posted = time.monotonic()
            for n in range(messages):
                for i, name in enumerate(NAMES):
                    r = gw.client.post(
                        "/v1/messages", headers=keys[name], json={"to": f"+3165{i}{n:06d}", "text": f"{name} {n}"}
                    )
                    assert r.status_code == 202, r.text
                    if name == "fast":
                        ours.append(r.json()["id"])

            def delivered_events() -> set[str]:
                return {
                    g.event["data"]["id"]
                    for g in list(fast_got)
                    if g.headers.get("Modemgate-Event") == "message.status" and g.event["data"]["status"] == "delivered"
                }

            wait_until(
                lambda: set(ours) <= delivered_events(),
                timeout=120,
                interval=0.5,
                what="the fast receiver to get every message's delivered event",
                last=lambda: f"{len(set(ours) & delivered_events())} of {len(ours)}",
            )
            elapsed = time.monotonic() - posted
            settled(fast_got)  # the last delivery reports
            for seen in raws.values():  # at least one attempt each has run to its end
                wait_until(lambda seen=seen: seen.spans, timeout=LIMIT * 4, what="an attempt to a slow receiver")
            got = list(fast_got)
            delays = [g.delay for g in got]
            result: dict[str, Any] = {
                "events": len(got),
                "p50": percentile(delays, 50),
                "p95": percentile(delays, 95),
                "max": max(delays),
                "elapsed": elapsed,
                "slow": {},
            }
            for name, seen in raws.items():
                with seen.lock:
                    spans = [end - start for start, end in seen.spans]
                    most = seen.most_open
                    still_open = seen.open_now
                result["slow"][name] = {
                    "attempts": len(spans) + still_open,
                    "cut": sum(1 for s in spans if s >= LIMIT * 0.9),
                    "longest": max(spans, default=0.0),
                    "most_open": most,
                }
            return result
    finally:
        if gw is not None:
            gw.stop()
        sim.stop()


def settled(got: list[Got], quiet: float = 2.0, timeout: float = 30.0) -> None:
    """Wait until `got` has not grown for `quiet` seconds (at most `timeout`)."""
    deadline = time.monotonic() + timeout
    count, since = len(got), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.2)
        if len(got) != count:
            count, since = len(got), time.monotonic()


def section(messages: int, slow: dict[str, Any], fast: dict[str, Any], total: float) -> str:
    command = "python -m bench.receivers"
    if messages != 200:
        command += f" --messages {messages}"
    ratio = slow["p50"] / fast["p50"] if fast["p50"] > 0 else float("nan")
    lines = [
        SECTION,
        "",
        f"`modemgate serve` on a fresh SQLite file against `modemgate simulate` ({MODEMS} modems at "
        f"600 parts/min each), real processes (`bench/receivers.py`, `harness/receivers.py`). Three API "
        f"keys, each with one webhook for `message.status` and `delivery_report` on 127.0.0.1 (allowed "
        f"by `[webhooks] allow_networks`; `timeout = {LIMIT:g}` s per attempt, all included; "
        f"`per_endpoint = {PER_ENDPOINT}`); {messages} messages per key, posted round-robin. With slow "
        f"receivers, one receiver accepts connections and never answers and one answers a byte every "
        f"{TRICKLE:g} s; the baseline has all three answering at once. Delay: an event's `created_at` to "
        "its arrival at the fast receiver (the third key's in both runs). An attempt is cut when the "
        f"gateway held the connection for at least 90 % of the {LIMIT:g} s limit.",
        "",
        "| measure | with slow receivers | all fast (baseline) | ratio |",
        "| --- | ---: | ---: | ---: |",
        f"| fast receiver: delay p50 | {slow['p50']:.2f} s | {fast['p50']:.2f} s | {ratio:.2f}x |",
        f"| fast receiver: delay p95 | {slow['p95']:.2f} s | {fast['p95']:.2f} s | {slow['p95'] / fast['p95']:.2f}x |",
        f"| fast receiver: delay max | {slow['max']:.2f} s | {fast['max']:.2f} s | {slow['max'] / fast['max']:.2f}x |",
        f"| fast receiver: events received (`sent`, `delivery_report`, `delivered` per message; `sent` "
        f"is skipped when the report comes first) | {slow['events']:,} | {fast['events']:,} | |",
        f"| first `POST` → fast receiver has every `delivered` event | {slow['elapsed']:.1f} s | "
        f"{fast['elapsed']:.1f} s | {slow['elapsed'] / fast['elapsed']:.2f}x |",
    ]
    for name, label in (
        ("hangs", "hanging receiver"),
        ("trickles", f"trickling receiver (a byte every {TRICKLE:g} s)"),
    ):
        s = slow["slow"][name]
        lines.append(
            f"| {label}: attempts / cut at the time limit / longest held / most open at once | "
            f"{s['attempts']} / {s['cut']} / {s['longest']:.1f} s / {s['most_open']} | | |"
        )
    lines += [
        "",
        "The slow receivers see few attempts: after 5 failed in a row the endpoint's circuit breaker "
        "pauses it for 30 s, then lets one probe through (gateway/core/hookpolicy.py). The baseline "
        "posts three times as many webhooks (every key's receiver answers), so on 2 shared cores its "
        "delays may come out longer than with slow receivers: a ratio near or below 1 means no "
        "slow receiver held up the fast one. "
        "`tests/integration/test_slow_receivers.py` asserts the same isolation (every event of the "
        "fast key within seconds, the slow ones cut at the limit, at most `per_endpoint` open); the "
        "figures are measured here only.",
        "",
        *reproduce(command + " --write", f"{total:.0f} s for both runs"),
    ]
    return "\n".join(wrap(line) for line in lines)


if __name__ == "__main__":
    sys.exit(main())
