"""Audience: contacts, lists and their members, segments, the consent ledger, suppression.

`message.category` (transactional | marketing) was already created by 0001.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("first_name", sa.String(), nullable=True),
        sa.Column("last_name", sa.String(), nullable=True),
        sa.Column("custom_fields", sa.JSON(), nullable=False),
        sa.Column("time_zone", sa.String(), nullable=False),
        sa.Column("time_zone_source", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "time_zone_source IN ('given', 'number', 'default')", name=op.f("ck_contact_time_zone_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
    )
    op.create_index("ix_contact_listing", "contact", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_contact_number"), "contact", ["number"], unique=True)

    op.create_table(
        "contact_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('list', 'exclude')", name=op.f("ck_contact_list_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_list")),
    )
    op.create_index(op.f("ix_contact_list_name"), "contact_list", ["name"], unique=True)

    op.create_table(
        "segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment")),
    )
    op.create_index(op.f("ix_segment_name"), "segment", ["name"], unique=True)

    op.create_table(
        "consent_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("proof", sa.Text(), nullable=True),
        sa.Column("ip", sa.String(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('opt_in', 'opt_out')", name=op.f("ck_consent_record_kind")),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_consent_record_contact_id_contact"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_record")),
    )
    op.create_index(op.f("ix_consent_record_contact_id"), "consent_record", ["contact_id"], unique=False)
    op.create_index("ix_consent_record_latest", "consent_record", ["number", "recorded_at", "id"], unique=False)

    op.create_table(
        "list_membership",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_list_membership_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["contact_list.id"],
            name=op.f("fk_list_membership_list_id_contact_list"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "contact_id", name=op.f("pk_list_membership")),
    )
    op.create_index(op.f("ix_list_membership_contact_id"), "list_membership", ["contact_id"], unique=False)

    op.create_table(
        "suppression",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(), nullable=True),
        sa.Column("number_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("source_message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reason IN ('stop', 'manual', 'import', 'erased')", name=op.f("ck_suppression_reason")),
        sa.ForeignKeyConstraint(
            ["source_message_id"],
            ["inbound_message.id"],
            name=op.f("fk_suppression_source_message_id_inbound_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression")),
    )
    op.create_index("ix_suppression_listing", "suppression", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_suppression_number_hash"), "suppression", ["number_hash"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_suppression_number_hash"), table_name="suppression")
    op.drop_index("ix_suppression_listing", table_name="suppression")
    op.drop_table("suppression")

    op.drop_index(op.f("ix_list_membership_contact_id"), table_name="list_membership")
    op.drop_table("list_membership")

    op.drop_index("ix_consent_record_latest", table_name="consent_record")
    op.drop_index(op.f("ix_consent_record_contact_id"), table_name="consent_record")
    op.drop_table("consent_record")

    op.drop_index(op.f("ix_segment_name"), table_name="segment")
    op.drop_table("segment")

    op.drop_index(op.f("ix_contact_list_name"), table_name="contact_list")
    op.drop_table("contact_list")

    op.drop_index(op.f("ix_contact_number"), table_name="contact")
    op.drop_index("ix_contact_listing", table_name="contact")
    op.drop_table("contact")
