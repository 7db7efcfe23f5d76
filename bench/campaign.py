"""Campaign expansion: a whole audience into the outbox, against a raw executemany of the same rows.

    python -m bench.campaign [--contacts N] [--batch N] [--markdown]

Setup: a migrated SQLite file (gateway.core.db: WAL, synchronous=FULL) with N contacts on one
list, and a campaign whose template has a token and a URL, with brand and footer.

(a) expansion: `gateway.campaigns.expand` in a child process: stream the audience by
    contact id, render each text, make its short link, encode its PDU, and insert messages
    and parts (`gateway.core.outbox.insert_many`) and links with one executemany per table
    per batch, committed per batch. Wall time, and the child's peak RSS (getrusage ru_maxrss).
(b) baseline: in another child, the very rows (a) wrote, read back batch by batch from its
    database and inserted into a second freshly migrated one with the DB-API's
    `executemany`, one commit per batch; only the inserts and commits are timed.

Ratio = (a) / (b). Targets: <= 1.5x, peak RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from gateway import campaigns
from gateway.core.db import create_engine_for, migrate, session
from gateway.core.models import Contact, ContactList, ListMembership

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TEMPLATE = "Hi {{first_name|there}}, our winter sale starts today: 20% off everything at https://shop.example/winter"
TABLES = ("message", "part", "link")


def populate(url: str, contacts: int) -> int:
    engine = create_engine_for(url)
    migrate(engine)
    with engine.begin() as conn:
        list_id = conn.execute(
            sa.insert(ContactList).values(name="all", kind="list", created_at=NOW).returning(ContactList.id)
        ).scalar_one()
        for start in range(0, contacts, 50_000):
            ids = range(start + 1, min(contacts, start + 50_000) + 1)
            conn.execute(sa.insert(Contact), [
                {"id": i, "number": f"+316{10000000 + i}", "first_name": None if i % 3 == 0 else f"Name{i}",
                 "last_name": None, "custom_fields": {}, "time_zone": "Europe/Amsterdam",
                 "time_zone_source": "given", "created_at": NOW, "updated_at": NOW} for i in ids
            ])  # fmt: skip
            conn.execute(
                sa.insert(ListMembership), [{"list_id": list_id, "contact_id": i, "added_at": NOW} for i in ids]
            )
    with session(engine, write=True) as s:
        row = campaigns.create(
            s, {"name": "winter", "template": TEMPLATE, "brand": "Acme", "lists": [list_id]}, api_key_id=None, now=NOW
        )
        row.status = "sending"
        s.add(row)
        s.commit()
        campaign_id = row.id
    engine.dispose()
    return campaign_id  # type: ignore[return-value]


def expand_child(url: str, campaign_id: int, batch: int, out: multiprocessing.Queue) -> None:
    engine = create_engine_for(url)
    began = time.perf_counter()
    made = campaigns.expand(engine, campaign_id, now=NOW, public_url="https://go.example", batch=batch)
    elapsed = time.perf_counter() - began
    out.put((made, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def raw_child(source: str, target: str, batch: int, out: multiprocessing.Queue) -> None:
    import sqlite3

    engine = create_engine_for(f"sqlite:///{target}")
    migrate(engine)
    engine.dispose()
    src, dst = sqlite3.connect(source), sqlite3.connect(target, isolation_level=None)
    src.execute("CREATE INDEX IF NOT EXISTS bench_link_message ON link (message_id)")  # to read back, untimed
    dst.execute("PRAGMA journal_mode = WAL")
    dst.execute("PRAGMA synchronous = FULL")
    dst.execute("PRAGMA foreign_keys = ON")
    campaign_cols = [r[1] for r in src.execute("PRAGMA table_info(campaign)")]
    dst.execute("BEGIN")
    dst.executemany(
        f"INSERT INTO campaign VALUES ({','.join('?' * len(campaign_cols))})", src.execute("SELECT * FROM campaign")
    )
    dst.execute("COMMIT")
    columns = {t: [r[1] for r in src.execute(f"PRAGMA table_info({t})")] for t in TABLES}
    timed = 0.0
    last = ""
    while True:
        messages = src.execute("SELECT * FROM message WHERE id > ? ORDER BY id LIMIT ?", (last, batch)).fetchall()
        if not messages:
            break
        last = messages[-1][0]
        ids = [m[0] for m in messages]
        marks = ",".join("?" * len(ids))
        parts = src.execute(f"SELECT * FROM part WHERE message_id IN ({marks})", ids).fetchall()
        link_rows = src.execute(f"SELECT * FROM link WHERE message_id IN ({marks})", ids).fetchall()
        began = time.perf_counter()
        dst.execute("BEGIN IMMEDIATE")
        for table, rows in (("message", messages), ("part", parts), ("link", link_rows)):
            dst.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * len(columns[table]))})", rows)
        dst.execute("COMMIT")
        timed += time.perf_counter() - began
    out.put((timed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = str(Path(tmp) / "campaign.db")
        began = time.perf_counter()
        campaign_id = populate(f"sqlite:///{source}", args.contacts)
        print(f"setup: {args.contacts:,} contacts in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        child = ctx.Process(target=expand_child, args=(f"sqlite:///{source}", campaign_id, args.batch, out))
        child.start()
        made, expand_s, expand_rss = out.get()
        child.join()
        child = ctx.Process(target=raw_child, args=(source, str(Path(tmp) / "raw.db"), args.batch, out))
        child.start()
        raw_s, raw_rss = out.get()
        child.join()
    ratio = expand_s / raw_s
    rows = [
        (
            "expansion (gateway.campaigns.expand)",
            f"{made:,}",
            f"{expand_s:.1f} s",
            f"{made / expand_s:,.0f}/s",
            f"{expand_rss:.0f} MB",
        ),
        (
            "raw executemany of the same rows",
            f"{made:,}",
            f"{raw_s:.1f} s",
            f"{made / raw_s:,.0f}/s",
            f"{raw_rss:.0f} MB",
        ),
    ]
    if args.markdown:
        print("| run | messages | time | rate | peak RSS |\n| --- | ---: | ---: | ---: | ---: |")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        print(f"\nRatio **{ratio:.2f}x** (target <= 1.5x); peak RSS **{expand_rss:.0f} MB** (target <= 300 MB). "
              f"Python {platform.python_version()}, batch {args.batch}.")  # fmt: skip
    else:
        for r in rows:
            print("  ".join(r))
        print(f"ratio {ratio:.2f}x, expansion peak RSS {expand_rss:.0f} MB")


if __name__ == "__main__":
    main()
