"""Each attempt at sending a message is kept (`message_attempt`: modem, time, outcome,
error), so a delivered message no longer shows the error of an earlier attempt: such stale
errors move into the history. Clicks carry a keyed hash of their client (`click.client`),
so repeated visits within a window are recorded once.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.String(length=36), sa.ForeignKey("message.id", ondelete="CASCADE"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("modem_id", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_message_attempt_message_id", "message_attempt", ["message_id"])
    conn = op.get_bind()
    # A sent or delivered message's last_error is from an attempt before the one that
    # went through: keep it as that attempt (when exactly it happened is not known; the
    # message's creation is the earliest it can be), and clear it from the message.
    conn.execute(
        sa.text(
            "INSERT INTO message_attempt (message_id, attempt, modem_id, outcome, error, at) "
            "SELECT id, CASE WHEN attempts > 1 THEN attempts - 1 ELSE 1 END, modem_id, 'retry', last_error, "
            "created_at FROM message WHERE status IN ('sent', 'delivered') AND last_error IS NOT NULL"
        )
    )
    conn.execute(sa.text("UPDATE message SET last_error = NULL WHERE status IN ('sent', 'delivered')"))
    with op.batch_alter_table("click") as batch:
        batch.add_column(sa.Column("client", sa.String(length=64), nullable=True))
    op.create_index("ix_click_client", "click", ["link_id", "client", "clicked_at"])


def downgrade() -> None:
    op.drop_index("ix_click_client", table_name="click")
    with op.batch_alter_table("click") as batch:
        batch.drop_column("client")
    op.drop_index("ix_message_attempt_message_id", table_name="message_attempt")
    op.drop_table("message_attempt")
