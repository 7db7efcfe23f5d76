"""Migration 0009 on a database written by 0006 (carried through 0007 and 0008): a sent or
delivered message's stale error moves into its attempt history; clicks learn their client."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from gateway.core.db import create_engine_for, migrate


def test_0009_moves_the_stale_error_of_delivered_messages_into_their_history(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, "0006")
    now = "2026-11-01 10:00:00"
    with engine.begin() as conn:
        for message_id, status, error in [
            ("m-delivered", "delivered", "+CMS ERROR: 500"),
            ("m-failed", "failed", "+CMS ERROR: 21"),
            ("m-queued", "queued", "+CMS ERROR: 38"),
        ]:
            conn.execute(
                sa.text(
                    "INSERT INTO message (id, request_hash, recipient, text, encoding, category, status, generation, "
                    "parts_total, attempts, next_attempt_at, valid_until, last_error, keyword_reply, created_at, "
                    "updated_at, modem_id) VALUES (:id, 'h', '+31612345678', 'hi', 'gsm7', 'transactional', :status, "
                    "1, 1, 2, :t, :t, :error, 0, :t, :t, 'sim1')"
                ),
                {"id": message_id, "status": status, "error": error, "t": now},
            )
    migrate(engine, "head")
    with engine.connect() as conn:
        errors = dict(conn.execute(sa.text("SELECT id, last_error FROM message")).all())
        history = conn.execute(
            sa.text("SELECT message_id, attempt, modem_id, outcome, error FROM message_attempt")
        ).all()
        click_columns = {c["name"] for c in sa.inspect(conn).get_columns("click")}
    engine.dispose()
    assert errors == {"m-delivered": None, "m-failed": "+CMS ERROR: 21", "m-queued": "+CMS ERROR: 38"}
    assert [tuple(h) for h in history] == [("m-delivered", 1, "sim1", "retry", "+CMS ERROR: 500")]
    assert "client" in click_columns
