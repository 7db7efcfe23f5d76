"""Messages that answer an inbound STOP/START/HELP (`message.keyword_reply`), which the
claim-time consent check lets through.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("keyword_reply", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("keyword_reply")
