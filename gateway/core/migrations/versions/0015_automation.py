"""Automation: keyword rules and double opt-in, drip sequences (steps, enrollments, step sends),
contact events, auto-replies, surveys (questions, sessions, answers), conversation read marks.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auto_reply_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("modem_id", sa.String(), nullable=True),
        sa.Column("contains", sa.JSON(), nullable=False),
        sa.Column("hours_start", sa.String(), nullable=True),
        sa.Column("hours_end", sa.String(), nullable=True),
        sa.Column("time_zone", sa.String(), nullable=False),
        sa.Column("max_per_period", sa.Integer(), nullable=False),
        sa.Column("period_seconds", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_reply_rule")),
    )
    op.create_table(
        "conversation_read",
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("read_through", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_conversation_read")),
    )
    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("invalid_prompt", sa.String(), nullable=False),
        sa.Column("thanks", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey")),
        sa.UniqueConstraint("name", name=op.f("uq_survey_name")),
    )
    op.create_table(
        "auto_reply_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["auto_reply_rule.id"],
            name=op.f("fk_auto_reply_sent_rule_id_auto_reply_rule"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_reply_sent")),
    )
    with op.batch_alter_table("auto_reply_sent", schema=None) as batch_op:
        batch_op.create_index("ix_auto_reply_sent_number", ["number", "sent_at"], unique=False)

    op.create_table(
        "contact_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_contact_event_contact_id_contact"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_event")),
    )
    with op.batch_alter_table("contact_event", schema=None) as batch_op:
        batch_op.create_index("ix_contact_event_number", ["number", "occurred_at"], unique=False)

    op.create_table(
        "drip_sequence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("trigger_event", sa.String(), nullable=True),
        sa.Column("trigger_list_id", sa.Integer(), nullable=True),
        sa.Column("list_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exit_events", sa.JSON(), nullable=False),
        sa.Column("exit_on_reply", sa.Boolean(), nullable=False),
        sa.Column("brand", sa.String(), nullable=True),
        sa.Column("footer", sa.String(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["trigger_list_id"],
            ["contact_list.id"],
            name=op.f("fk_drip_sequence_trigger_list_id_contact_list"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drip_sequence")),
        sa.UniqueConstraint("name", name=op.f("uq_drip_sequence_name")),
    )
    with op.batch_alter_table("drip_sequence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drip_sequence_trigger_event"), ["trigger_event"], unique=False)

    op.create_table(
        "keyword_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("modem_id", sa.String(), nullable=True),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("double_opt_in", sa.Boolean(), nullable=False),
        sa.Column("confirm_prompt", sa.Text(), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_key.id"], name=op.f("fk_keyword_rule_api_key_id_api_key"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyword_rule")),
        sa.UniqueConstraint("key", "modem_id", name=op.f("uq_keyword_rule_key_modem_id")),
    )
    with op.batch_alter_table("keyword_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_keyword_rule_key"), ["key"], unique=False)

    op.create_table(
        "survey_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["survey.id"], name=op.f("fk_survey_question_survey_id_survey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_question")),
        sa.UniqueConstraint("survey_id", "position", name=op.f("uq_survey_question_survey_id_position")),
    )
    op.create_table(
        "survey_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reprompted", sa.Boolean(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_survey_session_contact_id_contact"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["survey.id"], name=op.f("fk_survey_session_survey_id_survey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_session")),
    )
    with op.batch_alter_table("survey_session", schema=None) as batch_op:
        batch_op.create_index("ix_survey_session_open", ["number", "status", "expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_session_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "enrollment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sequence_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("next_position", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exit_reason", sa.String(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active', 'done', 'exited')", name=op.f("ck_enrollment_status")),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_enrollment_contact_id_contact"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sequence_id"],
            ["drip_sequence.id"],
            name=op.f("fk_enrollment_sequence_id_drip_sequence"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment")),
    )
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.create_index("ix_enrollment_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_enrollment_number", ["number", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrollment_sequence_id"), ["sequence_id"], unique=False)

    op.create_table(
        "keyword_confirmation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("proof", sa.Text(), nullable=False),
        sa.Column("inbound_message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["keyword_rule.id"],
            name=op.f("fk_keyword_confirmation_rule_id_keyword_rule"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyword_confirmation")),
    )
    with op.batch_alter_table("keyword_confirmation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_keyword_confirmation_number"), ["number"], unique=False)

    op.create_table(
        "sequence_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sequence_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("delay_seconds", sa.Integer(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sequence_id"],
            ["drip_sequence.id"],
            name=op.f("fk_sequence_step_sequence_id_drip_sequence"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequence_step")),
        sa.UniqueConstraint("sequence_id", "position", name=op.f("uq_sequence_step_sequence_id_position")),
    )
    op.create_table(
        "survey_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("choice", sa.String(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("inbound_message_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_survey_answer_contact_id_contact"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["survey_session.id"],
            name=op.f("fk_survey_answer_session_id_survey_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answer")),
        sa.UniqueConstraint("session_id", "question_id", name=op.f("uq_survey_answer_session_id_question_id")),
    )
    with op.batch_alter_table("survey_answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_answer_number"), ["number"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_answer_question_id"), ["question_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_answer_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "step_send",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("sequence_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"], ["enrollment.id"], name=op.f("fk_step_send_enrollment_id_enrollment"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_send")),
        sa.UniqueConstraint("enrollment_id", "step_id", name=op.f("uq_step_send_enrollment_id_step_id")),
    )
    with op.batch_alter_table("step_send", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_step_send_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_step_send_sequence_id"), ["sequence_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_step_send_step_id"), ["step_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("step_send", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_step_send_step_id"))
        batch_op.drop_index(batch_op.f("ix_step_send_sequence_id"))
        batch_op.drop_index(batch_op.f("ix_step_send_message_id"))

    op.drop_table("step_send")
    with op.batch_alter_table("survey_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_answer_survey_id"))
        batch_op.drop_index(batch_op.f("ix_survey_answer_question_id"))
        batch_op.drop_index(batch_op.f("ix_survey_answer_number"))

    op.drop_table("survey_answer")
    op.drop_table("sequence_step")
    with op.batch_alter_table("keyword_confirmation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_keyword_confirmation_number"))

    op.drop_table("keyword_confirmation")
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollment_sequence_id"))
        batch_op.drop_index("ix_enrollment_number")
        batch_op.drop_index("ix_enrollment_due")

    op.drop_table("enrollment")
    with op.batch_alter_table("survey_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_session_survey_id"))
        batch_op.drop_index("ix_survey_session_open")

    op.drop_table("survey_session")
    op.drop_table("survey_question")
    with op.batch_alter_table("keyword_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_keyword_rule_key"))

    op.drop_table("keyword_rule")
    with op.batch_alter_table("drip_sequence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drip_sequence_trigger_event"))

    op.drop_table("drip_sequence")
    with op.batch_alter_table("contact_event", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_event_number")

    op.drop_table("contact_event")
    with op.batch_alter_table("auto_reply_sent", schema=None) as batch_op:
        batch_op.drop_index("ix_auto_reply_sent_number")

    op.drop_table("auto_reply_sent")
    op.drop_table("survey")
    op.drop_table("conversation_read")
    op.drop_table("auto_reply_rule")
