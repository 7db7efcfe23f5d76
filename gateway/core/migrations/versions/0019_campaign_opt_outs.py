"""A campaign's opt-outs counted from the ledger's opt-outs, not from every message: the
opt-outs alone (`ix_consent_record_opt_out`, kind first), and each one's messages of the
campaign sent before it, read from the index alone (`ix_message_campaign_recipient`, over
campaign messages only, so other sends do not maintain it).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_CAMPAIGN = "campaign_id IS NOT NULL"


def upgrade() -> None:
    op.create_index("ix_consent_record_opt_out", "consent_record", ["kind", "number", "recorded_at"], unique=False)
    op.create_index(
        "ix_message_campaign_recipient",
        "message",
        ["campaign_id", "recipient", "sent_at", "variant_id"],
        unique=False,
        sqlite_where=sa.text(_CAMPAIGN),
        postgresql_where=sa.text(_CAMPAIGN),
    )


def downgrade() -> None:
    op.drop_index("ix_message_campaign_recipient", table_name="message")
    op.drop_index("ix_consent_record_opt_out", table_name="consent_record")
