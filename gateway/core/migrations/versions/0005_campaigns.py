"""Campaigns: campaign, campaign_variant, link, click, conversion; campaign columns on message.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("brand", sa.String(), nullable=True),
        sa.Column("footer", sa.String(), nullable=True),
        sa.Column("window_start", sa.String(), nullable=False),
        sa.Column("window_end", sa.String(), nullable=False),
        sa.Column("schedule", sa.String(), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("local_send_at", sa.String(), nullable=True),
        sa.Column("frequency_cap", sa.Integer(), nullable=False),
        sa.Column("frequency_days", sa.Integer(), nullable=False),
        sa.Column("lists", sa.JSON(), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("exclude_lists", sa.JSON(), nullable=False),
        sa.Column("expanded_through", sa.Integer(), nullable=False),
        sa.Column("expanded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invalid_numbers", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'review', 'scheduled', 'sending', 'paused', 'done', 'cancelled')",
            name=op.f("ck_campaign_status"),
        ),
        sa.CheckConstraint("schedule IN ('now', 'at', 'local')", name=op.f("ck_campaign_schedule")),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_key.id"], name=op.f("fk_campaign_api_key_id_api_key"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
    )
    op.create_index("ix_campaign_due", "campaign", ["status", "send_at"], unique=False)
    op.create_index(op.f("ix_campaign_slug"), "campaign", ["slug"], unique=True)

    op.create_table(
        "campaign_variant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("split", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_variant_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_variant")),
    )
    op.create_index(op.f("ix_campaign_variant_campaign_id"), "campaign_variant", ["campaign_id"], unique=False)

    op.create_table(
        "link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_link_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link")),
    )
    op.create_index(op.f("ix_link_code"), "link", ["code"], unique=True)
    op.create_index(op.f("ix_link_campaign_id"), "link", ["campaign_id"], unique=False)

    op.create_table(
        "click",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("first", sa.Boolean(), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["link.id"], name=op.f("fk_click_link_id_link"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_click")),
    )
    op.create_index("ix_click_campaign", "click", ["campaign_id", "contact_id"], unique=False)
    op.create_index(op.f("ix_click_link_id"), "click", ["link_id"], unique=False)

    op.create_table(
        "conversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_conversion_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversion")),
    )
    op.create_index("ix_conversion_campaign", "conversion", ["campaign_id", "variant_id"], unique=False)

    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("variant_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("time_zone", sa.String(), nullable=True))
        batch.add_column(sa.Column("held_reason", sa.String(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_message_campaign_id_campaign"), "campaign", ["campaign_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_message_campaign", ["campaign_id", "status"], unique=False)
        batch.create_index("ix_message_recipient_sent", ["recipient", "sent_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_index("ix_message_recipient_sent")
        batch.drop_index("ix_message_campaign")
        batch.drop_constraint(op.f("fk_message_campaign_id_campaign"), type_="foreignkey")
        for column in ("held_reason", "time_zone", "contact_id", "variant_id", "campaign_id"):
            batch.drop_column(column)
    op.drop_table("conversion")
    op.drop_table("click")
    op.drop_table("link")
    op.drop_table("campaign_variant")
    op.drop_table("campaign")
