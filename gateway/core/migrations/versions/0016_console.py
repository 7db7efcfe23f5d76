"""The web console. Accounts: operators (`console_user`, scrypt password hashes), their signed-in
sessions (`console_session`, token hashes with expiry and revocation); the inbox's read marks
are automation's `conversation_read` (0015). Two indexes on `message` for its pages:
every sender's messages newest first (`ix_message_created`), today's sends and failures per
modem (`ix_message_sent_modem`, `ix_message_status_updated`); and one a campaign's analytics read alone, without the wide rows
(`ix_message_campaign_funnel`).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_console_user_name", "console_user", ["name"], unique=True)
    op.create_table(
        "console_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["console_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_console_session_user_id", "console_session", ["user_id"], unique=False)

    op.create_index("ix_message_created", "message", ["created_at", "id"], unique=False)
    op.create_index("ix_message_sent_modem", "message", ["sent_at", "modem_id"], unique=False)
    op.create_index("ix_message_status_updated", "message", ["status", "updated_at"], unique=False)
    op.create_index(
        "ix_message_campaign_funnel",
        "message",
        ["campaign_id", "variant_id", "status", "held_reason", "sent_at", "recipient"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_message_campaign_funnel", table_name="message")
    op.drop_index("ix_message_status_updated", table_name="message")
    op.drop_index("ix_message_sent_modem", table_name="message")
    op.drop_index("ix_message_created", table_name="message")
    op.drop_index("ix_console_session_user_id", table_name="console_session")
    op.drop_table("console_session")
    op.drop_index("ix_console_user_name", table_name="console_user")
    op.drop_table("console_user")
