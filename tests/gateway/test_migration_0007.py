"""Migration 0007 on a database written by 0006: messages already stored get their place
in the queue's order, and the claim's partial index exists."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from gateway.core.db import create_engine_for, migrate


def test_0007_gives_stored_messages_their_priority_and_indexes_the_waiting_ones(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, "0006")
    now = "2026-11-01 10:00:00"
    with engine.begin() as conn:
        for n, (category, keyword_reply) in enumerate(
            [("marketing", 0), ("transactional", 0), ("transactional", 1), ("marketing", 0)], 1
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO message (id, request_hash, recipient, text, encoding, category, status, generation, "
                    "parts_total, attempts, next_attempt_at, valid_until, keyword_reply, created_at, updated_at) "
                    "VALUES (:id, 'h', '+31612345678', 'x', 'gsm7', :c, 'queued', 1, 1, 0, :t, :t, :k, :t, :t)"
                ),
                {"id": f"m{n}", "c": category, "k": keyword_reply, "t": now},
            )
    migrate(engine, "head")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, priority FROM message ORDER BY id")).all()
        index = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'ix_message_queue'")).scalar_one()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("m1", 2), ("m2", 1), ("m3", 0), ("m4", 2)]
    assert "WHERE status IN ('queued', 'sending')" in index
