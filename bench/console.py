"""Console page render time on a large database, and the queries each page runs.

    python -m bench.console [--messages N] [--contacts N] [--requests N] [--db sqlite|postgresql|both] [--write]

Setup: a migrated database (SQLite file, or a throw-away PostgreSQL schema) holding N
messages over the last 30 days (a tenth of them one campaign's, to as many contacts),
N/100 replies, and the contacts on one list with their consent (all opted in, one in twenty
opted out since). Statuses: 90 % delivered, 5 % failed, 3 % sent, 2 % suppressed; two modems.

Each page is requested in this process through the real app (a signed-in admin, the
gateway running its two simulated modems) `--requests` times after two warm-up requests;
the time is the whole request: session lookup, queries, template, response.

Pages: the dashboard and its live fragment, the message list (first page, a page deep in
the history, a status filter), the inbox, and the campaign page (previews, funnel and hourly
series) and its live progress fragment. Queries: SQL statements per request, and those of the
message list read at 10, 50 and 200 rows (the same count: no query per row).
Goal: p95 < 200 ms for every page on both databases.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from bench.measures import measured_on, percentile, reproduce, table, wrap, write_section
from gateway import campaigns
from gateway.campaigns.wiring import marketing
from gateway.core import accounts, overview
from gateway.core.db import create_engine_for, migrate, session
from gateway.core.models import ConsentRecord, Contact, ContactList, InboundMessage, ListMembership, Message
from gateway.core.runtime import Gateway
from gateway.core.settings import ModemSettings, Settings
from harness.pgschema import throwaway_schema
from harness.querycount import counting_queries

TITLE = "## Console pages"
PASSWORD = "benchmark password"
CHUNK = 20_000
REQUEST_THREADS = "AnyIO worker thread"  # where a request's database calls run (not the gateway's loops)
STATUSES = ["delivered"] * 90 + ["failed"] * 5 + ["sent"] * 3 + ["suppressed"] * 2


def populate(url: str, messages: int, contacts: int, now: datetime) -> int:
    """Fill the database; returns the campaign's id."""
    engine = create_engine_for(url)
    migrate(engine)
    with engine.begin() as conn:
        list_id = conn.execute(
            sa.insert(ContactList).values(name="all", kind="list", created_at=now).returning(ContactList.id)
        ).scalar_one()
        for start in range(0, contacts, CHUNK):
            ids = range(start + 1, min(contacts, start + CHUNK) + 1)
            conn.execute(sa.insert(Contact), [
                {"id": i, "number": f"+316{20000000 + i}", "first_name": f"Name{i}", "last_name": None,
                 "custom_fields": {}, "time_zone": "Europe/Amsterdam", "time_zone_source": "given",
                 "created_at": now, "updated_at": now} for i in ids
            ])  # fmt: skip
            conn.execute(
                sa.insert(ListMembership), [{"list_id": list_id, "contact_id": i, "added_at": now} for i in ids]
            )
            # The consent ledger: everyone opted in a month ago; one in twenty opted out since
            # (those of a day ago after many of the campaign's sends: its opt-outs).
            conn.execute(sa.insert(ConsentRecord), [
                {"number": f"+316{20000000 + i}", "contact_id": i, "kind": kind, "source": "import", "recorded_at": at}
                for i in ids
                for kind, at in [("opt_in", now - timedelta(days=31))]
                + ([("opt_out", now - timedelta(days=20 if i % 40 else 1))] if i % 20 == 0 else [])
            ])  # fmt: skip
    with session(engine, write=True) as s:
        row = campaigns.create(
            s, {"name": "winter", "template": "Hi {{first_name|there}}, 20% off: https://shop.example/winter",
                "lists": [list_id]}, api_key_id=None, now=now - timedelta(days=1),
        )  # fmt: skip
        row.status = "done"
        s.add(row)
        accounts.create_user(s, "admin", PASSWORD, "admin", now=now)
        s.commit()
        campaign_id = row.id
    in_campaign = min(messages // 10, contacts)
    step = timedelta(days=30) / max(1, messages)
    with engine.begin() as conn:
        for start in range(0, messages, CHUNK):
            rows = [
                _message(i, now - step * i, campaign_id if i < in_campaign else None)
                for i in range(start, min(messages, start + CHUNK))
            ]
            conn.execute(sa.insert(Message), rows)
        inbound = messages // 100
        for start in range(0, inbound, CHUNK):
            conn.execute(sa.insert(InboundMessage), [
                {"modem_id": "sim1", "sender": f"+316{20000000 + (i % contacts) + 1}", "text": f"reply {i}",
                 "parts_total": 1, "parts_received": 1, "complete": True, "received_at": now - step * 100 * i}
                for i in range(start, min(inbound, start + CHUNK))
            ])  # fmt: skip
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return campaign_id  # type: ignore[return-value]


def _message(i: int, at: datetime, campaign_id: int | None) -> dict[str, Any]:
    status = STATUSES[i % len(STATUSES)]
    sent = status in ("sent", "delivered", "failed")
    return {
        "id": f"00000000-0000-4000-8000-{i:012d}", "api_key_id": None, "idempotency_key": None,
        "request_hash": "x", "recipient": f"+316{20000000 + (i % 100_000) + 1}", "text": f"Message number {i}",
        "encoding": "gsm7", "category": "marketing" if campaign_id else "transactional", "priority": 1,
        "status": status, "modem_id": "sim1" if i % 2 else "sim2", "generation": 1, "parts_total": 1,
        "attempts": 1, "next_attempt_at": at, "valid_until": at + timedelta(days=2), "keyword_reply": False,
        "campaign_id": campaign_id, "contact_id": (i % 100_000) + 1 if campaign_id else None,
        "held_reason": "stop" if status == "suppressed" else None,
        "created_at": at, "updated_at": at + timedelta(seconds=5), "sent_at": at + timedelta(seconds=5) if sent else None,
    }  # fmt: skip


@contextmanager
def running(url: str) -> Iterator[tuple[TestClient, Gateway]]:
    modems = [ModemSettings(id=f"sim{i}", port=f"sim://sim{i}", sends_per_minute=600) for i in (1, 2)]
    settings = Settings(database_url=url, default_region="NL", modems=modems, public_url="https://sms.example.com")
    gateway = Gateway(settings, extensions=marketing(settings))
    app = create_app(settings, gateway=gateway, resolver=lambda host, port: ["93.184.216.34"])
    with TestClient(app, follow_redirects=False) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
        r = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf": token, "next": "/"})
        assert r.status_code == 303, r.text
        yield client, gateway
    gateway.engine.dispose()


def measure(url: str, campaign_id: int, requests: int) -> tuple[list[list[str]], list[str]]:
    with running(url) as (client, gateway):
        first = client.get("/messages").text
        cursor = None
        for _ in range(200):  # 200 pages deep: 10,000 messages back
            found = re.search(
                r'cursor=([^"&]+)"', client.get("/messages" + (f"?cursor={cursor}" if cursor else "")).text
            )
            cursor = found.group(1) if found else None
        assert "Message number" in first
        pages = {
            "dashboard `/`": "/",
            "dashboard live fragment": "/fragments/modems",
            "messages, first page": "/messages",
            "messages, 200 pages deep": f"/messages?cursor={cursor}",
            "messages, status failed": "/messages?status=failed",
            "inbox": "/inbox",
            "campaign page (analytics)": f"/campaigns/{campaign_id}",
            "campaign progress fragment": f"/campaigns/{campaign_id}/progress",
        }
        rows = []
        for name, path in pages.items():
            for _ in range(2):
                assert client.get(path).status_code == 200, path
            times = []
            for _ in range(requests):
                with counting_queries(gateway.engine, threads=REQUEST_THREADS) as queries:
                    began = time.perf_counter()
                    r = client.get(path)
                    times.append((time.perf_counter() - began) * 1000)
                assert r.status_code == 200, (path, r.status_code)
            rows.append([name, f"{percentile(times, 50):.1f}", f"{percentile(times, 95):.1f}", str(queries.count)])
        counts = []
        with session(gateway.engine) as s:  # the first read of a connection runs its set-up statements
            overview.browse_messages(s, overview.MessageFilter(), cursor=None, limit=1)
        for limit in (10, 50, 200):
            with session(gateway.engine) as s, counting_queries(gateway.engine) as queries:
                page = overview.browse_messages(s, overview.MessageFilter(), cursor=None, limit=limit)
            assert len(page.items) == limit
            counts.append(f"{limit} rows: {queries.count}")
    return rows, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--write", action="store_true", help="rewrite the section of BENCHMARKS.md")
    args = parser.parse_args()
    began_all = time.perf_counter()
    results: dict[str, tuple[list[list[str]], list[str], float]] = {}
    now = datetime.now(UTC)
    for db in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        with tempfile.TemporaryDirectory() as tmp, _database(db, Path(tmp)) as url:
            began = time.perf_counter()
            campaign_id = populate(url, args.messages, args.contacts, now)
            setup = time.perf_counter() - began
            print(f"{db}: {args.messages:,} messages, {args.contacts:,} contacts in {setup:.0f} s", file=sys.stderr)
            rows, counts = measure(url, campaign_id, args.requests)
            results[db] = (rows, counts, setup)
            for line in table(["page", "p50 ms", "p95 ms", "queries"], rows, markdown=False):
                print(line)
            print("message list read: " + ", ".join(counts) + " queries")
    if args.write:
        spent = f"{time.perf_counter() - began_all:.0f} s in all, most of it filling the databases"
        write_section(Path("BENCHMARKS.md"), _section(args, results, spent), TITLE)


@contextmanager
def _database(db: str, tmp: Path) -> Iterator[str]:
    if db == "sqlite":
        yield f"sqlite:///{tmp / 'console.db'}"
    else:
        with throwaway_schema("mg_console") as url:
            yield url


def _section(args: argparse.Namespace, results: dict[str, tuple[list[list[str]], list[str], float]], spent: str) -> str:
    lines = [TITLE, ""]
    lines.append(wrap(
        f"Each console page requested {args.requests} times through the real app (signed in, the gateway "
        f"running two simulated modems) on a database of {args.messages:,} messages over 30 days "
        f"({args.messages // 10:,} of them one campaign's), {args.contacts:,} contacts and "
        f"{args.messages // 100:,} replies; a consent ledger of {args.contacts:,} opt-ins and "
        f"{args.contacts // 20:,} opt-outs. Whole request: session, queries, template. Goal: p95 < 200 ms. "
        "Queries: SQL statements per request (not the gateway's own loops, which run meanwhile); the "
        "message list reads the same number at any page size."
    ))  # fmt: skip
    lines.append("")
    for db, (rows, counts, _) in results.items():
        lines.append(f"**{'SQLite' if db == 'sqlite' else 'PostgreSQL'}**")
        lines.append("")
        lines += table(["page", "p50 ms", "p95 ms", "queries"], rows, markdown=True)
        lines.append("")
        lines.append(f"Message list read (`gateway.core.overview.browse_messages`): {', '.join(counts)} queries.")
        lines.append("")
    over = sorted({r[0] for rows, _, _ in results.values() for r in rows if float(r[2]) >= 200})
    verdict = "Goal met by every page" if not over else "Goal not met by: " + ", ".join(over)
    lines.append(wrap(f"{verdict}; {measured_on()}."))
    lines.append("")
    lines += reproduce("python -m bench.console --write", spent)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
