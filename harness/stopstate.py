"""What a stopped gateway left in its outbox, read straight from the database (tests and
benchmarks of the graceful stop)."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.core.db import create_engine_for

__all__ = ["left_in_the_middle"]


def left_in_the_middle(database_url: str) -> dict[str, int]:
    """Messages and parts a stopped gateway left `sending` (nobody sends them now), and the
    messages it gave back between two parts (queued, with parts already sent)."""
    engine = create_engine_for(database_url)
    try:
        with engine.connect() as conn:
            messages = conn.execute(sa.text("SELECT count(*) FROM message WHERE status = 'sending'")).scalar_one()
            parts = conn.execute(sa.text("SELECT count(*) FROM part WHERE status = 'sending'")).scalar_one()
            started = conn.execute(
                sa.text(
                    "SELECT count(DISTINCT m.id) FROM message m JOIN part p ON p.message_id = m.id "
                    "WHERE m.status = 'queued' AND p.message_reference IS NOT NULL"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return {"messages sending": messages, "parts sending": parts, "queued with parts sent": started}
