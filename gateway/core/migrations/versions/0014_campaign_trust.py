"""A/B tests with a test share and a winner, attribution by click id and order id, UTM per
campaign, archived campaigns: campaign columns, `campaign_assignment`, and the test flags and
ids of link, click and conversion.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("utm", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("test_share", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ab_metric", sa.String(), nullable=False, server_default="click"))
        batch.add_column(sa.Column("ab_wait_minutes", sa.Integer(), nullable=False, server_default="240"))
        batch.add_column(sa.Column("ab_phase", sa.String(), nullable=True))
        batch.add_column(sa.Column("ab_tested_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("winner_variant_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ab_decision", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("link") as batch:
        batch.add_column(sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("click") as batch:
        batch.add_column(sa.Column("click_id", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("message_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_unique_constraint(op.f("uq_click_click_id"), ["click_id"])
    with op.batch_alter_table("conversion") as batch:
        batch.add_column(sa.Column("order_id", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("click_id", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("message_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_unique_constraint(op.f("uq_conversion_order_id"), ["order_id"])
    op.create_table(
        "campaign_assignment",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_assignment_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "contact_id", name=op.f("pk_campaign_assignment")),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("campaign_assignment")
    with op.batch_alter_table("conversion") as batch:
        batch.drop_constraint(op.f("uq_conversion_order_id"), type_="unique")
        for name in ("test", "currency", "message_id", "click_id", "order_id"):
            batch.drop_column(name)
    with op.batch_alter_table("click") as batch:
        batch.drop_constraint(op.f("uq_click_click_id"), type_="unique")
        for name in ("test", "message_id", "click_id"):
            batch.drop_column(name)
    with op.batch_alter_table("link") as batch:
        batch.drop_column("test")
    with op.batch_alter_table("campaign") as batch:
        for name in ("archived_at", "ab_decision", "winner_variant_id", "ab_tested_at", "ab_phase",
                     "ab_wait_minutes", "ab_metric", "test_share", "utm"):  # fmt: skip
            batch.drop_column(name)
