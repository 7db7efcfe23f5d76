"""Drip sequences at scale: 100,000 contacts in active sequences on SQLite.

Measures what the scheduler costs the gateway:
- an idle round (no step due) with 100,000 active enrollments: the index lookup every poll pays;
- queueing 10,000 due steps (tokens, a tracked link each, StepSend rows, enrollments moved on)
  against inserting the same 10,000 texts straight into the outbox (`outbox.insert_many`):
  the ratio is the scheduling overhead per step;
- memory: the peak Python allocation (tracemalloc) while a 10,000-step round runs.

    python -m bench.sequences [--contacts 100000] [--due 10000] [--write]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.measures import reproduce, table, wrap, write_section
from gateway.automation import sequences
from gateway.core import outbox
from gateway.core.db import create_engine_for, migrate, session
from gateway.core.models import Contact, DripSequence, Enrollment, SequenceStep

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TITLE = "## Sequences"


def populate(url: str, contacts: int, due: int) -> None:
    engine = create_engine_for(url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Contact),
            [{"number": f"+3161{i:07d}", "first_name": f"P{i}", "last_name": None, "custom_fields": {},
              "time_zone": "Europe/Amsterdam", "time_zone_source": "given", "created_at": T0, "updated_at": T0}
             for i in range(contacts)],
        )  # fmt: skip
        seq_id = conn.execute(
            sa.insert(DripSequence).values(name="bench", category="transactional", exit_events=[], exit_on_reply=False,
                                           enabled=True, created_at=T0).returning(DripSequence.id)
        ).scalar_one()  # fmt: skip
        conn.execute(
            sa.insert(SequenceStep),
            [{"sequence_id": seq_id, "position": p, "delay_seconds": d, "template": t} for p, d, t in (
                (1, 0, "Hi {{first_name}}, welcome: https://shop.example/welcome"),
                (2, 86_400, "Day two, {{first_name}}"), (3, 2 * 86_400, "Day three"))],
        )  # fmt: skip
        ids = [r[0] for r in conn.execute(sa.select(Contact.id, Contact.number).order_by(Contact.id))]
        conn.execute(
            sa.insert(Enrollment),
            [{"sequence_id": seq_id, "contact_id": cid, "number": f"+3161{i:07d}", "properties": {},
              "status": "active", "next_position": 1,
              "due_at": T0 if i < due else T0 + timedelta(minutes=30) if i < 2 * due
              else T0 + timedelta(hours=1 + i % 1000),
              "started_at": T0, "updated_at": T0} for i, cid in enumerate(ids)],
        )  # fmt: skip
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--write", action="store_true", help="rewrite the section in BENCHMARKS.md")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'seq.db'}"
        populate(url, args.contacts, args.due)
        engine = create_engine_for(url)
        idle = []
        for _ in range(20):
            clock = time.perf_counter()
            sequences.run_due(engine, now=T0 - timedelta(seconds=1), public_url="https://go.example")
            idle.append(time.perf_counter() - clock)
        clock = time.perf_counter()
        queued = sequences.run_due(engine, now=T0, public_url="https://go.example")
        scheduled = time.perf_counter() - clock
        assert queued == args.due, (queued, args.due)
        tracemalloc.start()  # a second round of as many steps, for its memory (tracing slows it)
        sequences.run_due(engine, now=T0 + timedelta(minutes=30), public_url="https://go.example")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        texts = [outbox.Draft(f"+3162{i:07d}", f"Hi P{i}, welcome: https://go.example/r/ABCDEFGHIJ", "bench",
                              category="transactional") for i in range(args.due)]  # fmt: skip
        clock = time.perf_counter()
        with session(engine, write=True) as s:
            for i in range(0, len(texts), sequences.BATCH):
                outbox.insert_many(s, texts[i : i + sequences.BATCH], now=T0)
            s.commit()
        plain = time.perf_counter() - clock
        engine.dispose()
    idle.sort()
    rows = [
        ["idle round, 100,000 active (median ms)" if args.contacts == 100_000 else "idle round (median ms)",
         f"{idle[len(idle) // 2] * 1000:.1f}"],
        [f"{args.due:,} due steps queued (s)", f"{scheduled:.2f}"],
        ["steps queued per second", f"{args.due / scheduled:,.0f}"],
        [f"{args.due:,} plain texts into the outbox (s)", f"{plain:.2f}"],
        ["overhead: scheduled / plain", f"{scheduled / plain:.2f}x"],
        ["peak Python memory of the round (MB)", f"{peak / 1e6:.1f}"],
    ]  # fmt: skip
    print("\n".join(table(["measure", "value"], rows, markdown=False)))
    if args.write:
        text = "\n".join([
            TITLE, "",
            wrap(
                f"{args.contacts:,} contacts in an active three-step sequence on SQLite, {args.due:,} of them with a "
                "step due (each with a token and a tracked link). The scheduler queues due steps a batch of "
                f"{sequences.BATCH:,} per transaction; the plain figure is the same number of texts inserted "
                "straight into the outbox, so the ratio is what scheduling adds per step."
            ), "",
            *table(["measure", "value"], rows, markdown=True), "",
            *reproduce("python -m bench.sequences --write", f"{time.monotonic() - started:.0f} s"),
        ])  # fmt: skip
        write_section(Path(__file__).resolve().parents[1] / "BENCHMARKS.md", text, TITLE)


if __name__ == "__main__":
    main()
