"""What a message was encoded with beyond its alphabet: the national shift tables it was
allowed (`message.languages`) and its message class (`message.message_class`), so that a
whole resend re-encodes its parts alike.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("languages", sa.String(), nullable=True))
        batch.add_column(sa.Column("message_class", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("message_class")
        batch.drop_column("languages")
