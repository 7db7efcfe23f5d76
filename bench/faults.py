"""Fault matrix: every simulated fault of `harness/faultmatrix.py`, with more traffic per case.

    python -m bench.faults [--messages N] [--case ID ...] [--profile NAME [--noise-every S]] [--write]

For each case: the fault on one of three simulated modems, N mixed messages (a third each
single GSM-7, multipart GSM-7, multipart UCS-2), and what every message and the faulty
modem ended as (see harness/faultmatrix.py for the run and `check` for what counts as correct).
Prints a markdown table of fault x outcome; `--write` puts it, with the command, in the
"Fault matrix" section at the end of BENCHMARKS.md (replacing that section only).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from bench.measures import wrap, write_section
from drivers.simulator.personalities import personality
from harness.faultmatrix import CASES, FAULTY, MODEMS, FaultCase, Outcome, check, run_case

ROOT = Path(__file__).resolve().parents[1]

SECTION = "## Fault matrix"
CASE_TIMEOUT = 120.0  # seconds a case may take to settle before what is left counts as stuck


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=60, help="messages per case")
    parser.add_argument("--case", action="append", default=[], help="run only this case (repeatable)")
    parser.add_argument("--profile", help="simulated modems of this maker (modemgate simulate --profile)")
    parser.add_argument("--noise-every", type=float, help="seconds between the profile's periodic lines")
    parser.add_argument("--write", action="store_true", help="update the Fault matrix section of BENCHMARKS.md")
    args = parser.parse_args()
    query = urlencode(
        {k: v for k, v in (("profile", args.profile), ("noise_every", args.noise_every)) if v is not None}
    )
    if args.noise_every is not None and not args.profile:
        parser.error("--noise-every needs --profile")
    title = SECTION
    if args.profile:  # its own section, beside the plain modems' one
        title += f": {args.profile}" + (f", periodic lines every {args.noise_every:g} s" if args.noise_every else "")
    cases = [c for c in CASES if not args.case or c.id in args.case]
    if not cases:
        parser.error(f"no such case; have {', '.join(c.id for c in CASES)}")
    logging.basicConfig(level=logging.CRITICAL)  # the gateway logs every fault it meets; the table says it

    rows = []
    started = time.monotonic()
    for case in cases:
        outcome = run_case(case, args.messages, timeout=CASE_TIMEOUT, port_query=f"?{query}" if query else "")
        problems = check(outcome)
        rows.append((case, outcome, problems))
        print(
            f"{case.id}: {dict(outcome.by_status())}, {len(problems)} problems, {outcome.seconds:.1f} s",
            file=sys.stderr,
        )
    total = time.monotonic() - started

    command = "python -m bench.faults" + (f" --messages {args.messages}" if args.messages != 60 else "")
    if args.profile:
        command += f" --profile {args.profile}" + (f" --noise-every {args.noise_every:g}" if args.noise_every else "")
    variant = ""
    if args.profile:
        variant = f"`{args.profile}` simulated modems"
        if args.noise_every:
            where = (
                "inside answers and between them" if personality(args.profile).noise_in_answers else "between answers"
            )
            variant += f" that send their periodic unsolicited lines every {args.noise_every:g} s, {where}"
    text = section(rows, args.messages, total, command + " --write", title, variant)
    print(text)
    if args.write:
        if args.case:
            parser.error("--write needs the whole matrix (no --case)")
        write_section(ROOT / "BENCHMARKS.md", text, title)
    return 0 if all(not p for _, _, p in rows) else 1


# --- the table --------------------------------------------------------------------------


def section(
    rows: list[tuple[FaultCase, Outcome, list[str]]],
    messages: int,
    total: float,
    command: str,
    title: str = SECTION,
    variant: str = "",
) -> str:
    correct = sum(1 for _, _, p in rows if not p)
    if title == SECTION:
        intro = [
            f"Every simulated fault, set on `{FAULTY}` of {len(MODEMS)} simulated modems before {messages} mixed "
            "messages are submitted (a third each single GSM-7, multipart GSM-7, multipart UCS-2 with emoji). "
            "The real app and gateway run in one process on a fresh SQLite file, driven through the HTTP API "
            f"(`harness/faultmatrix.py`); the other modems are enabled once `{FAULTY}` has met the fault. "
            "Retry backoff is skipped by moving the gateway's wall clock whenever nothing is in flight. "
            "CMS errors come every send from the second on, so a multipart message is cut after its first part.",
            "",
            "A case is correct when every message ends delivered, or failed with the message's own permanent "
            f"error, or — sent through `{FAULTY}` under a report fault — failed part by part by its failed "
            "report, or left `sent` under a temporary or missing report; none is left `queued` or `sending`; "
            "every delivered message reached the network whole exactly once; a modem fault shows the modem "
            "`faulty` in `GET /v1/modems`, and a fault that is not the modem's never does; the healthy "
            "modems stay `ready`. `tests/reliability` asserts the same with 9 messages per case, and "
            "again for the hang, garbage, disconnect and CMS 500 cases on Huawei E3372 profiles that send "
            "`^RSSI` / `^HCSQ` / `^DSFLOWRPT` lines every 50 ms, inside answers and between them (`--profile huawei-e3372 "
            "--noise-every 0.05` runs every case that way).",
            "",
        ]
    else:
        intro = [f"The matrix of the section above, with the same traffic and the same checks, on {variant}.", ""]
    out = [
        title,
        "",
        *intro,
        "| fault | delivered | failed (reason) | sent, no final report | stuck | "
        f"`{FAULTY}` state seen (last error) | retries | s | verdict |",
        "| --- | ---: | --- | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for case, o, problems in rows:
        counts = o.by_status()
        reasons = ", ".join(f"{n} × {_short(r)}" for r, n in o.failed_reasons().most_common())
        m = o.modems[FAULTY]
        state = " → ".join(o.states_seen) + (f" ({_short(m['last_error'])})" if m["last_error"] else "")
        verdict = "correct" if not problems else f"**wrong** ({len(problems)})"
        out.append(
            f"| {case.fault} | {counts['delivered']} | {counts['failed']}{': ' + reasons if reasons else ''} | "
            f"{counts['sent']} | {o.stuck} | {state} | {o.retries} | {o.seconds:.1f} | {verdict} |"
        )
    out += ["", f"{correct} of {len(rows)} faults end correct."]
    issues = [(c, o, p) for c, o, p in rows if p or c.open_issue]
    if issues:
        out += ["", "Open issues (these cases are left out of the test suite until fixed):", ""]
        for case, o, problems in issues:
            if problems:
                seen = "This run: " + "; ".join(_short(p, 160) for p in _distinct(problems)[:3])
                seen += f"; … {len(problems)} in all." if len(problems) > 3 else "."
            else:
                seen = f"Not met in this run ({o.retries} retries); it depends on which modem claims what."
            out.append(f"- **{case.id}**: {case.open_issue or 'unexpected'}. {seen}")
    out += [
        "",
        "Columns: retries are attempts beyond each message's first; s is the time from the fault to the "
        "last message settling (wall time, backoff skipped).",
        "",
        "Reproduce from the repository root:",
        "",
        "```",
        command,
        "```",
        "",
        f"Machine: {os.cpu_count()} cores ({platform.machine()}, shared with other work, so the s column varies "
        f"from run to run), Python {platform.python_version()}; measured {date.today().isoformat()}, "
        f"{total:.0f} s for the whole matrix.",
        "",
    ]
    return "\n".join(wrap(line) for line in out)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _distinct(problems: list[str]) -> list[str]:
    """One problem per kind: the same complaint about many messages counts once."""
    seen: Counter[str] = Counter()
    out = []
    for p in problems:
        p = re.sub(r"message [0-9a-f-]{36} ", "a message ", p)  # ids mean nothing outside the run
        kind = p.split(": ", 1)[-1]
        if not seen[kind]:
            out.append(p)
        seen[kind] += 1
    return out


if __name__ == "__main__":
    sys.exit(main())
