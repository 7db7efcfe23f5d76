"""Per-message callbacks: a webhook delivery may go to a message's `callback_url`,
signed with its API key's callback secret, instead of to a registered webhook.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(sa.Column("callback_secret", sa.String(), nullable=True))
    with op.batch_alter_table("webhook_delivery") as batch:
        batch.alter_column("webhook_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("url", sa.String(), nullable=True))
        batch.add_column(sa.Column("api_key_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_webhook_delivery_api_key_id_api_key"), "api_key", ["api_key_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_delivery") as batch:
        batch.drop_constraint(op.f("fk_webhook_delivery_api_key_id_api_key"), type_="foreignkey")
        batch.drop_column("api_key_id")
        batch.drop_column("url")
        batch.alter_column("webhook_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("callback_secret")
