"""Modem leases: one running gateway owns a modem id at a time (`modem_lease`), so a second
gateway configured with the same modem neither sends through it nor recovers its messages
while the owner runs (gateway.core.ownership).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "modem_lease",
        sa.Column("modem_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("modem_id"),
    )


def downgrade() -> None:
    op.drop_table("modem_lease")
