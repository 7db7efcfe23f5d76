"""Webhook deliveries name their key and receiving server (`webhook_delivery.endpoint`), for
per-endpoint concurrency and circuit breaking; errors already recorded become the coarse
reasons the API now shows (no library messages, which told open ports from closed ones);
credentials stored in webhook and callback URLs (`user:pw@`, refused from now on) are
removed, and such webhooks disabled, so they are never listed back.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_PORTS = {"http": 80, "https": 443}


def upgrade() -> None:
    with op.batch_alter_table("webhook_delivery") as batch:
        batch.add_column(sa.Column("endpoint", sa.String(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT d.id, COALESCE(w.api_key_id, d.api_key_id), COALESCE(w.url, d.url) "
            "FROM webhook_delivery d LEFT JOIN webhook w ON w.id = d.webhook_id"
        )
    ).all()
    for delivery_id, owner, url in rows:
        endpoint = f"{owner if owner is not None else '-'} {_endpoint(url or '')}"
        conn.execute(
            sa.text("UPDATE webhook_delivery SET endpoint = :e WHERE id = :i"), {"e": endpoint, "i": delivery_id}
        )
    for hook_id, url in conn.execute(sa.text("SELECT id, url FROM webhook WHERE url LIKE '%@%'")).all():
        if (bare := _without_credentials(url)) != url:
            conn.execute(
                sa.text("UPDATE webhook SET url = :u, enabled = :off, disabled_at = CURRENT_TIMESTAMP WHERE id = :i"),
                {"u": bare, "off": False, "i": hook_id},
            )
    for table in ("webhook_delivery", "message"):
        column = "url" if table == "webhook_delivery" else "callback_url"
        for row_id, url in conn.execute(sa.text(f"SELECT id, {column} FROM {table} WHERE {column} LIKE '%@%'")).all():
            if (bare := _without_credentials(url)) != url:
                conn.execute(sa.text(f"UPDATE {table} SET {column} = :u WHERE id = :i"), {"u": bare, "i": row_id})
    conn.execute(sa.text("UPDATE webhook_delivery SET last_error = 'http_status' WHERE last_error LIKE 'HTTP %'"))
    conn.execute(
        sa.text(
            "UPDATE webhook_delivery SET last_error = CASE WHEN last_error LIKE '%Timeout%' THEN 'timeout' "
            "ELSE 'connection' END WHERE last_error IS NOT NULL AND last_error <> 'http_status'"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("webhook_delivery") as batch:
        batch.drop_column("endpoint")


def _endpoint(url: str) -> str:
    # As gateway.core.webhooks.endpoint, frozen here: a migration must not change with the code.
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port or _PORTS.get(scheme, 0)
    except ValueError:
        port = 0
    return f"{scheme}://{host}:{port}"


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
