"""Campaigns may ask for transliteration (typographic punctuation and look-alike letters
replaced when that saves parts) on their own, whatever the `[sms] transliterate` setting;
they skip non-mobile numbers unless `include_non_mobile`, and count those skipped.
A contact has a `locale` (BCP 47): the language of its keyword replies and opt-out footer.

Revision ID: 0013
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("transliterate", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("include_non_mobile", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("non_mobile", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("locale", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("locale")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("non_mobile")
        batch.drop_column("include_non_mobile")
        batch.drop_column("transliterate")
