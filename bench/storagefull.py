"""Storage full: the database's disk fills up under a running `modemgate serve` mid-traffic.

    python -m bench.storagefull [--messages N] [--rounds R] [--full-seconds S]

Each round: `modemgate simulate` with two modems (the network answers each AT+CMGS after
0.5 s), `modemgate serve` with its SQLite file on a small disk (harness/smalldisk.py: a
16 MB tmpfs where this process may mount, else a file-size limit on the gateway), N mixed
messages (a third each single GSM-7, multipart GSM-7, multipart UCS-2). Once parts are going
out the disk is filled for S seconds, during which a new message is posted every 0.5 s and
/readyz is asked; then the space comes back. Prints a markdown table: what the API answered
while full, parts that reached the network while full, send results held (parts at the
network whose +CMGS was not written yet when space came back), parts sent twice, and the
seconds from space back to ready and to every message sent.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from harness.livegateway import GatewayProcess, ModemSpec, SimulatorProcess, mixed_messages, part_key
from harness.smalldisk import SmallDisk
from harness.waiting import wait_until


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--full-seconds", type=float, default=10.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    rows = [one_round(args.messages, args.full_seconds) for _ in range(args.rounds)]
    command = "python -m bench.storagefull"
    if (args.messages, args.rounds, args.full_seconds) != (30, 3, 10.0):
        command += f" --messages {args.messages} --rounds {args.rounds} --full-seconds {args.full_seconds:g}"
    print(
        "| round | disk | messages (parts) | POST while full: 503 / other | /readyz while full: 503 / other "
        "| parts out while full | results held | parts sent twice | space back → ready | space back → all sent |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for i, r in enumerate(rows, 1):
        print(
            f"| {i} | {r['disk']} | {r['messages']} ({r['parts']}) | {r['post_503']} / {r['post_other']} "
            f"| {r['ready_503']} / {r['ready_other']} | {r['out_while_full']} | {r['held']} | {r['twice']} "
            f"| {r['to_ready']:.1f} s | {r['to_sent']:.1f} s |"
        )
    print(f"\n`{command}`")
    return 0


def one_round(messages: int, full_seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sim = SimulatorProcess(2, workdir)
        gw: GatewayProcess | None = None
        try:
            for modem in sim.urls:
                sim.set_faults(modem, submit_delay=0.5)
            with SmallDisk(workdir / "disk") as disk:
                modems = [ModemSpec(m, url, sends_per_minute=600, burst=5) for m, url in sim.urls.items()]
                gw = GatewayProcess(workdir, f"sqlite:///{disk.path / 'modemgate.db'}", modems).start()
                assert gw.proc is not None
                gw.wait_ready(sim.urls)
                traffic = mixed_messages(messages)
                ids = gw.submit_all(traffic)
                wait_until(lambda: sim.journal_count() >= 3, timeout=60, what="parts going out")
                disk.fill(gw.proc.pid)
                at_fill = sim.journal_count()
                posts: Counter[int] = Counter()
                ready: Counter[int] = Counter()
                until = time.monotonic() + full_seconds
                while time.monotonic() < until:
                    r = gw.client.post("/v1/messages", json={"to": "+31659999999", "text": "while full"})
                    posts[r.status_code] += 1
                    ready[httpx.get(f"{gw.url}/readyz", timeout=30).status_code] += 1
                    time.sleep(0.5)
                out_while_full = sim.journal_count() - at_fill
                held = held_results(gw, sim.journal())
                disk.free(gw.proc.pid)
                back = time.monotonic()
                wait_until(
                    lambda: httpx.get(f"{gw.url}/readyz", timeout=30).status_code == 200, timeout=60, what="ready"
                )
                to_ready = time.monotonic() - back
                gw.wait_all(ids, ("sent", "delivered"), timeout=300)
                to_sent = time.monotonic() - back
                journal = sim.journal()
                copies = Counter(part_key(e) for e in journal if e["recipient"] != "+31659999999")
                return {
                    "disk": "tmpfs" if disk.mounted else "size limit",
                    "messages": len(ids),
                    "parts": sum(copies.values()),
                    "post_503": posts[503],
                    "post_other": sum(n for s, n in posts.items() if s != 503),
                    "ready_503": ready[503],
                    "ready_other": sum(n for s, n in ready.items() if s != 503),
                    "out_while_full": out_while_full,
                    "held": held,
                    "twice": sum(n - 1 for n in copies.values()),
                    "to_ready": to_ready,
                    "to_sent": to_sent,
                }
        finally:
            if gw is not None:
                gw.stop()
            sim.stop()


def held_results(gw: GatewayProcess, journal: list[dict[str, object]]) -> int:
    """Parts the network has whose +CMGS the gateway could not write yet (no MR in the API)."""
    at_network = {part_key(e)[:3] for e in journal}  # (recipient, total, seq)
    held = 0
    for message_id, status in gw.statuses().items():
        if status != "sending":
            continue
        message = gw.message(message_id)
        total = message["parts_total"]
        for part in message["parts"]:
            if part["message_reference"] is None and (message["to"], total, part["seq"]) in at_network:
                held += 1
    return held


if __name__ == "__main__":
    raise SystemExit(main())
