"""The queue's order: `message.priority` (0 a keyword reply, 1 transactional, 2 marketing),
set from the category for messages already stored, and the partial index
`ix_message_queue` (priority, next_attempt_at, created_at, id) over waiting messages that the claim walks.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# As gateway.core.models.WAITING, frozen here: a migration must not change with the code.
_WAITING = "status IN ('queued', 'sending')"


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), server_default="1", nullable=False))
    # As gateway.core.models.PRIORITIES, frozen here.
    op.execute(
        "UPDATE message SET priority = CASE WHEN keyword_reply THEN 0 WHEN category = 'transactional' THEN 1 ELSE 2 END"
    )
    op.create_index(
        "ix_message_queue",
        "message",
        ["priority", "next_attempt_at", "created_at", "id"],
        unique=False,
        sqlite_where=sa.text(_WAITING),
        postgresql_where=sa.text(_WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_message_queue", table_name="message")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("priority")
