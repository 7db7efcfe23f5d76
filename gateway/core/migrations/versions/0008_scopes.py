"""API keys get scopes (`api_key.scopes`: send, marketing, admin); the consent ledger gets
the reason given when an opt-out from a STOP is lifted by hand (`consent_record.reason`).

Keys made before scopes existed hold all three, so integrations running on them keep
working after the upgrade; keys made from now on hold `send` unless told otherwise.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(sa.Column("scopes", sa.String(), nullable=True))
    op.execute(sa.text("UPDATE api_key SET scopes = 'send,marketing,admin'"))
    with op.batch_alter_table("api_key") as batch:
        batch.alter_column("scopes", existing_type=sa.String(), nullable=False, server_default="send")
    with op.batch_alter_table("consent_record") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_record") as batch:
        batch.drop_column("reason")
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("scopes")
