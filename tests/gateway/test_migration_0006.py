"""Migration 0006 on a database written by 0005: deliveries learn their endpoint, recorded
errors become coarse reasons, and credentials in stored URLs are removed."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from gateway.core.db import create_engine_for, migrate


def test_0006_names_endpoints_coarsens_errors_and_drops_stored_credentials(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, "0005")
    now = "2026-11-01 10:00:00"
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO webhook (id, url, secret, events, enabled, created_at) VALUES "
            "(1, 'https://hooks.example/a', 's', 'optout', 1, :t), "
            "(2, 'http://user:pw@hooks.example:8080/b', 's', 'optout', 1, :t)"
        ), {"t": now})  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO webhook_delivery (id, webhook_id, url, event, payload, attempts, next_attempt_at, created_at, "
            "last_error) VALUES "
            "(1, 1, NULL, 'optout', '{}', 1, :t, :t, 'HTTP 503'), "
            "(2, 2, NULL, 'optout', '{}', 1, :t, :t, 'ConnectError: [Errno 111] Connection refused'), "
            "(3, NULL, 'http://cb:secret@callbacks.example/x?id=1', 'message.status', '{}', 1, :t, :t, "
            "'ReadTimeout: timed out')"
        ), {"t": now})  # fmt: skip
    migrate(engine, "head")
    with engine.connect() as conn:
        deliveries = conn.execute(
            sa.text("SELECT id, endpoint, url, last_error FROM webhook_delivery ORDER BY id")
        ).all()
        hooks = conn.execute(sa.text("SELECT id, url, enabled FROM webhook ORDER BY id")).all()
    engine.dispose()
    assert [tuple(d) for d in deliveries] == [
        (1, "- https://hooks.example:443", None, "http_status"),
        (2, "- http://hooks.example:8080", None, "connection"),
        (3, "- http://callbacks.example:80", "http://callbacks.example/x?id=1", "timeout"),
    ]
    assert [tuple(h) for h in hooks] == [(1, "https://hooks.example/a", 1), (2, "http://hooks.example:8080/b", 0)]
