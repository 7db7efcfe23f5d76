"""Tables: API keys, the outbox (messages and their parts), delivery reports, inbound
messages, webhooks and their durable delivery queue.

Conventions:
- A message's id is a text UUID (`str(uuid4())`): unguessable in URLs, and made by the
  process that accepts the message, so two gateways on one database never collide. Every
  other table counts with an integer id.
- Every timestamp is timezone-aware UTC (`UtcDateTime`): PostgreSQL stores `timestamptz`,
  SQLite the UTC wall time, and both give back aware datetimes. A naive datetime is refused.
- Status words are closed sets (the `Literal` aliases below), checked by the database too.
- Changes to these tables go through a new Alembic revision in `gateway/core/migrations`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

__all__ = [
    "UtcDateTime",
    "MessageStatus",
    "PartStatus",
    "Category",
    "MESSAGE_STATUSES",
    "PART_STATUSES",
    "CATEGORIES",
    "PRIORITIES",
    "priority_of",
    "ApiKey",
    "Message",
    "Part",
    "MessageAttempt",
    "AttemptOutcome",
    "DeliveryReport",
    "InboundMessage",
    "InboundPart",
    "Webhook",
    "WebhookDelivery",
    "metadata",
    "new_message_id",
    "utcnow",
]

MessageStatus = Literal["queued", "sending", "sent", "delivered", "failed", "expired", "suppressed"]
# pending: not yet handed to a modem; sending: claimed (maybe between AT+CMGS and its
# commit); sent: +CMGS <mr> committed; delivered/failed: by status report or by the
# outbox; expired: validity passed before it went out; cancelled: replaced by a whole
# resend (a new generation of parts), or its message suppressed, before it went out.
PartStatus = Literal["pending", "sending", "sent", "delivered", "failed", "expired", "cancelled"]
Category = Literal["transactional", "marketing"]

MESSAGE_STATUSES: tuple[MessageStatus, ...] = (
    "queued", "sending", "sent", "delivered", "failed", "expired", "suppressed"
)  # fmt: skip
PART_STATUSES: tuple[PartStatus, ...] = ("pending", "sending", "sent", "delivered", "failed", "expired", "cancelled")
CATEGORIES: tuple[Category, ...] = ("transactional", "marketing")
# The queue's order (lower leaves first): the answer to a STOP/START/HELP, then
# transactional messages (one-time codes, order updates), then marketing (campaigns and
# other bulk). Strict: a due message of a lower class waits while one of a higher class
# is due (gateway.core.outbox, "The claim").
PRIORITIES: dict[str, int] = {"keyword_reply": 0, "transactional": 1, "marketing": 2}


def priority_of(category: str, *, keyword_reply: bool = False) -> int:
    """A message's place in the queue's order (`Message.priority`): see PRIORITIES."""
    return PRIORITIES["keyword_reply" if keyword_reply else category]


# Named constraints, so later migrations (batch mode on SQLite) can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = SQLModel.metadata


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_message_id() -> str:
    return str(uuid.uuid4())


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime on every database; naive values are a programming error."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the gateway stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# A message waiting for a sender: queued, or sending under a lease that may lapse. Spelt
# out as SQL so the partial index and the claim's query say it in the same words (the
# planner uses a partial index only when the query's WHERE implies the index's).
WAITING = "status IN ('queued', 'sending')"


class ApiKey(SQLModel, table=True):
    """A bearer key: only its lookup prefix and its hash are stored (gateway.apikeys)."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    prefix: str = Field(unique=True, index=True)
    key_hash: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Signs the events posted to the `callback_url` of this key's messages; made on first use.
    callback_secret: str | None = None
    # What the key may do, comma-separated: send, marketing, admin (gateway.core.apikeys).
    scopes: str = Field(default="send", sa_column_kwargs={"server_default": "send"})


class Message(SQLModel, table=True):
    """One SMS as submitted; its parts are in `Part`, pre-encoded at submit.

    `modem_id` is the modem all its parts go through: set when the first part is sent
    there and cleared only when the message is released for a whole resend (a new
    `generation` of parts with a new `concat_ref`). `requested_modem` is the caller's
    choice, kept across resends. `lease_owner`/`lease_until` say who is sending it now;
    while it is `sending`, `next_attempt_at` equals `lease_until`, so an abandoned message
    comes due again when its lease runs out.
    """

    __tablename__ = "message"
    __table_args__ = (
        sa.UniqueConstraint("api_key_id", "idempotency_key"),
        sa.Index("ix_message_claim", "status", "next_attempt_at"),
        # The claim's order over waiting messages only (gateway.core.outbox, "The claim").
        sa.Index(
            "ix_message_queue",
            "priority",
            "next_attempt_at",
            "created_at",
            "id",
            sqlite_where=sa.text(WAITING),
            postgresql_where=sa.text(WAITING),
        ),
        sa.Index("ix_message_listing", "api_key_id", "created_at"),
        sa.Index("ix_message_campaign", "campaign_id", "status"),
        sa.Index("ix_message_recipient_sent", "recipient", "sent_at"),
        # The console: every sender's messages newest first, today's sends and failures per modem.
        sa.Index("ix_message_created", "created_at", "id"),
        sa.Index("ix_message_sent_modem", "sent_at", "modem_id"),
        sa.Index("ix_message_status_updated", "status", "updated_at"),
        # A campaign's funnel and hourly series read from the index alone, not the wide rows.
        sa.Index(
            "ix_message_campaign_funnel", "campaign_id", "variant_id", "status", "held_reason", "sent_at", "recipient"
        ),
        # A campaign's opt-outs: each opted-out number's messages of the campaign, from the index alone.
        sa.Index(
            "ix_message_campaign_recipient",
            "campaign_id",
            "recipient",
            "sent_at",
            "variant_id",
            sqlite_where=sa.text("campaign_id IS NOT NULL"),
            postgresql_where=sa.text("campaign_id IS NOT NULL"),
        ),
        sa.CheckConstraint(_in("status", MESSAGE_STATUSES), name="status"),
        sa.CheckConstraint(_in("category", CATEGORIES), name="category"),
    )

    id: str = Field(default_factory=new_message_id, primary_key=True, max_length=36)
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    idempotency_key: str | None = None
    request_hash: str  # sha256 of the request, to tell a retry from a conflicting reuse
    recipient: str  # E.164
    text: str = Field(sa_type=sa.Text)
    encoding: str  # as encoded: gsm7 | ucs2
    # National shift tables it was allowed ("tr,es"; TS 23.038 Annex A) and its message class
    # (0 flash … 3), both None when unused: a whole resend re-encodes the parts alike.
    languages: str | None = None
    message_class: int | None = None
    category: str = "transactional"
    # The queue's order (PRIORITIES, from category and keyword_reply): lower leaves first.
    priority: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    status: str = "queued"
    requested_modem: str | None = None
    modem_id: str | None = None
    concat_ref: int | None = None  # 8-bit concatenation reference of the current parts
    generation: int = 1
    parts_total: int
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UtcDateTime)
    valid_until: datetime = Field(sa_type=UtcDateTime)
    lease_owner: str | None = None
    lease_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    callback_url: str | None = None
    # The answer to an inbound STOP/START/HELP: sent even to a suppressed number, never
    # held by consent, send windows or caps.
    keyword_reply: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # A campaign's message (gateway.campaigns) carries its campaign, variant and contact.
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", ondelete="SET NULL")
    variant_id: int | None = None
    contact_id: int | None = None
    time_zone: str | None = None  # the recipient's, for the send window of a marketing message
    held_reason: str | None = None  # why the claim last held or stopped it
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Part(SQLModel, table=True):
    """One SMS-SUBMIT of a message; `message_reference` is the modem's `+CMGS: <mr>`."""

    __tablename__ = "part"
    __table_args__ = (
        sa.UniqueConstraint("message_id", "generation", "seq"),
        # Delivery-report correlation: same modem, same MR, submitted near the SCTS.
        sa.Index("ix_part_report", "modem_id", "message_reference", "submitted_at"),
        sa.CheckConstraint(_in("status", PART_STATUSES), name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(foreign_key="message.id", ondelete="CASCADE", max_length=36)
    generation: int = 1
    seq: int  # 1-based
    pdu: str = Field(sa_type=sa.Text)  # hex, SMSC prefix included
    tpdu_length: int
    status: str = "pending"
    attempt: int = 0  # the message attempt that last handed this part to a modem
    modem_id: str | None = None
    message_reference: int | None = None
    submitted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    report_status: int | None = None  # TP-ST of the latest report, 3GPP TS 23.040 §9.2.3.15
    error: str | None = Field(default=None, sa_type=sa.Text)


# sent: every part has its MR; retry: failed, tried again later; failed, expired: the end;
# interrupted: its sender stopped (crash, lapsed lease) before it ended, a part may be out.
AttemptOutcome = Literal["sent", "retry", "failed", "expired", "interrupted"]


class MessageAttempt(SQLModel, table=True):
    """How one attempt at sending a message ended (`gateway.core.outbox` writes them): the
    history behind `message.last_error`, which holds only the error of the current state."""

    __tablename__ = "message_attempt"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(foreign_key="message.id", ondelete="CASCADE", max_length=36, index=True)
    attempt: int  # message.attempts when it ended
    modem_id: str | None = None
    outcome: str
    error: str | None = Field(default=None, sa_type=sa.Text)
    at: datetime = Field(sa_type=UtcDateTime)


class DeliveryReport(SQLModel, table=True):
    """An SMS-STATUS-REPORT as received; `part_id` is None while it matches no part."""

    __tablename__ = "delivery_report"
    __table_args__ = (
        sa.Index("ix_delivery_report_match", "modem_id", "message_reference", "received_at"),
        sa.Index("ix_delivery_report_part", "part_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    modem_id: str
    message_reference: int
    recipient: str
    tp_status: int
    category: str  # delivered | pending | failed | unknown (drivers.sms.StatusCategory)
    scts: datetime | None = Field(default=None, sa_type=UtcDateTime)
    discharge_time: datetime | None = Field(default=None, sa_type=UtcDateTime)
    received_at: datetime = Field(sa_type=UtcDateTime)
    pdu: str = Field(sa_type=sa.Text)
    part_id: int | None = Field(default=None, foreign_key="part.id", ondelete="SET NULL")


class InboundMessage(SQLModel, table=True):
    """A received SMS, reassembled from its parts; `complete` once all have arrived.

    `flagged_at` is set when parts are still missing after the reassembly timeout; the
    text then holds what did arrive.
    """

    __tablename__ = "inbound_message"
    __table_args__ = (
        sa.Index("ix_inbound_message_assembly", "modem_id", "sender", "concat_ref", "complete"),
        sa.Index("ix_inbound_message_received_at", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    modem_id: str
    sender: str
    text: str = Field(default="", sa_type=sa.Text)
    concat_ref: int | None = None
    parts_total: int = 1
    parts_received: int = 0
    complete: bool = False
    scts: datetime | None = Field(default=None, sa_type=UtcDateTime)
    received_at: datetime = Field(sa_type=UtcDateTime)  # first part
    completed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    flagged_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class InboundPart(SQLModel, table=True):
    """One received SMS-DELIVER, kept as received."""

    __tablename__ = "inbound_part"
    __table_args__ = (sa.Index("ix_inbound_part_assembly", "modem_id", "sender", "concat_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    inbound_message_id: int | None = Field(default=None, foreign_key="inbound_message.id", ondelete="CASCADE")
    modem_id: str
    sender: str
    text: str = Field(sa_type=sa.Text)
    encoding: str
    concat_ref: int | None = None
    concat_total: int | None = None
    concat_seq: int | None = None
    scts: datetime | None = Field(default=None, sa_type=UtcDateTime)
    received_at: datetime = Field(sa_type=UtcDateTime)
    pdu: str = Field(sa_type=sa.Text)


class Webhook(SQLModel, table=True):
    """An endpoint that receives signed events (gateway.signing)."""

    __tablename__ = "webhook"

    id: int | None = Field(default=None, primary_key=True)
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    url: str
    secret: str
    events: str  # comma-separated event types: message.status, message.inbound, delivery_report
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook: a durable queue entry, retried until delivered or given up."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (sa.Index("ix_webhook_delivery_due", "delivered_at", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # A registered webhook, or None for a message's own `callback_url` (then `url` and
    # `api_key_id`, whose callback secret signs it, are set).
    webhook_id: int | None = Field(default=None, foreign_key="webhook.id", ondelete="CASCADE", index=True)
    url: str | None = None
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id", ondelete="CASCADE")
    # Whose events to which receiving server (`<api key id> scheme://host:port`,
    # webhooks.endpoint): deliveries are posted a few at a time per endpoint, and a slow or
    # failing one is paused on its own.
    endpoint: str | None = None
    event: str
    payload: str = Field(sa_type=sa.Text)  # the exact JSON body that is signed and sent
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UtcDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    gave_up_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_status: int | None = None  # HTTP status of the last attempt
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UtcDateTime)


__all__ += ["ModemLease"]


class ModemLease(SQLModel, table=True):
    """Which running gateway owns a modem id (gateway.core.ownership): one owner per modem.

    The owner renews `expires_at` while it runs and deletes the row when it stops; another
    gateway may take the modem (and recover its unfinished messages) only once that has
    passed. `node_id` and `pid` say who holds it, in errors and for a restart on the same
    node; `token` tells this run of the owner from an earlier one.
    """

    __tablename__ = "modem_lease"

    modem_id: str = Field(primary_key=True)
    node_id: str
    pid: int
    token: str
    acquired_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)


__all__ += ["DlrRequest"]


class DlrRequest(SQLModel, table=True):
    """A delivery-report URL asked for through the Kannel-compatible `sendsms`
    (gateway.core.dlr): which events (`mask`, Kannel's dlr-mask bits) to fetch `url` for,
    its escape codes filled in (gateway.core.dlrurl). Written with its message."""

    __tablename__ = "dlr_request"

    message_id: str = Field(foreign_key="message.id", ondelete="CASCADE", primary_key=True, max_length=36)
    url: str = Field(sa_type=sa.Text)
    mask: int
    sender: str = ""  # the request's `from`, for %P (the modem's own number goes out)
    account: str = ""  # the API key's name, for %n


# --- audience: contacts, lists, segments, consent, suppression --------------------------
# The audience belongs to the gateway as a whole (one sender, one account), not to an API
# key: a STOP stops every key's messages to that number.

__all__ += [
    "ConsentKind",
    "SuppressionReason",
    "ListKind",
    "TimeZoneSource",
    "CONSENT_KINDS",
    "SUPPRESSION_REASONS",
    "LIST_KINDS",
    "TIME_ZONE_SOURCES",
    "Contact",
    "ContactList",
    "ListMembership",
    "Segment",
    "ConsentRecord",
    "Suppression",
]

ConsentKind = Literal["opt_in", "opt_out"]
# stop: a keyword from the number; manual: added by API; import: a bulk import;
# erased: the contact was erased (only the number's hash is left).
SuppressionReason = Literal["stop", "manual", "import", "erased"]
# list: recipients are taken from it; exclude: its members are taken out of an audience.
ListKind = Literal["list", "exclude"]
# given: set by the caller; number: the number's only zone; default: the account's zone.
TimeZoneSource = Literal["given", "number", "default"]

CONSENT_KINDS: tuple[ConsentKind, ...] = ("opt_in", "opt_out")
SUPPRESSION_REASONS: tuple[SuppressionReason, ...] = ("stop", "manual", "import", "erased")
LIST_KINDS: tuple[ListKind, ...] = ("list", "exclude")
TIME_ZONE_SOURCES: tuple[TimeZoneSource, ...] = ("given", "number", "default")


class Contact(SQLModel, table=True):
    """A person to send to: one row per E.164 number; custom fields are a JSON object."""

    __tablename__ = "contact"
    __table_args__ = (
        sa.Index("ix_contact_listing", "created_at", "id"),
        sa.CheckConstraint(_in("time_zone_source", TIME_ZONE_SOURCES), name="time_zone_source"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, index=True)  # E.164
    first_name: str | None = None
    last_name: str | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    time_zone: str  # IANA name, resolved when the contact is written
    time_zone_source: str = "default"
    # BCP 47 language tag (e.g. "tr", "pt-BR"): the language of their keyword replies and
    # campaign opt-out footer. None: the language of the word they sent, else the default.
    locale: str | None = None
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class ContactList(SQLModel, table=True):
    """A named, hand-made set of contacts: recipients (`list`) or people never to include (`exclude`)."""

    __tablename__ = "contact_list"
    __table_args__ = (sa.CheckConstraint(_in("kind", LIST_KINDS), name="kind"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    kind: str = "list"
    created_at: datetime = Field(sa_type=UtcDateTime)


class ListMembership(SQLModel, table=True):
    """A contact on a list; goes with either of them."""

    __tablename__ = "list_membership"

    list_id: int = Field(foreign_key="contact_list.id", ondelete="CASCADE", primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", ondelete="CASCADE", primary_key=True, index=True)
    added_at: datetime = Field(sa_type=UtcDateTime)


class Segment(SQLModel, table=True):
    """A saved filter on contact fields (`gateway.audience.contacts` reads `rules`), evaluated when used."""

    __tablename__ = "segment"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    rules: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class ConsentRecord(SQLModel, table=True):
    """One entry of the consent ledger, never changed: the latest per number is its state.

    Kept by number, so a contact deleted (not erased) leaves its evidence behind.
    """

    __tablename__ = "consent_record"
    __table_args__ = (
        sa.Index("ix_consent_record_latest", "number", "recorded_at", "id"),
        sa.Index("ix_consent_record_opt_out", "kind", "number", "recorded_at"),  # a campaign's opt-outs
        sa.CheckConstraint(_in("kind", CONSENT_KINDS), name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str  # E.164
    contact_id: int | None = Field(default=None, foreign_key="contact.id", ondelete="SET NULL", index=True)
    kind: str
    source: str  # api, import, keyword, web_form …: where the consent was given or withdrawn
    proof: str | None = Field(default=None, sa_type=sa.Text)  # the words the person agreed to, or sent
    ip: str | None = None
    # Why a STOP was set aside by hand: given with the opt-in that lifted it (consent.remove_opt_out).
    reason: str | None = Field(default=None, sa_type=sa.Text)
    recorded_at: datetime = Field(sa_type=UtcDateTime)


class Suppression(SQLModel, table=True):
    """A number nothing may be sent to (STOP stops every category).

    `number_hash` (sha256 of the E.164 number) is always set and is what a send is checked
    against; `number` is cleared when the contact is erased, so an erased opt-out stays out.
    """

    __tablename__ = "suppression"
    __table_args__ = (
        sa.Index("ix_suppression_listing", "created_at", "id"),
        sa.CheckConstraint(_in("reason", SUPPRESSION_REASONS), name="reason"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = None
    number_hash: str = Field(unique=True, index=True, max_length=64)
    reason: str
    source_message_id: int | None = Field(
        default=None, foreign_key="inbound_message.id", ondelete="SET NULL"
    )  # the inbound STOP
    created_at: datetime = Field(sa_type=UtcDateTime)


# --- campaigns: the campaign, its variants, tracked links, clicks, conversions -------------
# A campaign's messages are ordinary outbox messages carrying `campaign_id`, `variant_id`,
# `contact_id` and the recipient's `time_zone` (so the claim checks the send window without
# a join to the contact); `held_reason` says why the claim last held or stopped one.

__all__ += [
    "CampaignStatus",
    "ScheduleKind",
    "CAMPAIGN_STATUSES",
    "SCHEDULE_KINDS",
    "Campaign",
    "CampaignVariant",
    "Link",
    "Click",
    "Conversion",
    "CampaignAssignment",
    "AB_METRICS",
]

CampaignStatus = Literal["draft", "review", "scheduled", "sending", "paused", "done", "cancelled"]
# now: when scheduled; at: a UTC time; local: a wall time in each recipient's own zone.
ScheduleKind = Literal["now", "at", "local"]
CAMPAIGN_STATUSES: tuple[CampaignStatus, ...] = (
    "draft",
    "review",
    "scheduled",
    "sending",
    "paused",
    "done",
    "cancelled",
)
SCHEDULE_KINDS: tuple[ScheduleKind, ...] = ("now", "at", "local")
# What an A/B test's winner is chosen by (gateway.campaigns.abtest).
AB_METRICS = ("click", "conversion", "delivery")


class Campaign(SQLModel, table=True):
    """A marketing send to an audience (lists, segments, minus exclude lists).

    The send window is recipient local wall time, "HH:MM" (end "24:00" allowed). Expansion
    into the outbox runs in committed batches and resumes after `expanded_through` (the
    last contact id done), so a stop halfway loses and doubles nothing.
    """

    __tablename__ = "campaign"
    __table_args__ = (
        sa.Index("ix_campaign_due", "status", "send_at"),
        sa.CheckConstraint(_in("status", CAMPAIGN_STATUSES), name="status"),
        sa.CheckConstraint(_in("schedule", SCHEDULE_KINDS), name="schedule"),
    )

    id: int | None = Field(default=None, primary_key=True)
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id", ondelete="SET NULL")
    name: str
    slug: str = Field(unique=True, index=True)
    status: str = "draft"
    template: str = Field(sa_type=sa.Text)
    brand: str | None = None
    footer: str | None = "Reply STOP to opt out"  # None: no footer
    window_start: str = "10:00"
    window_end: str = "20:00"
    schedule: str = "now"
    send_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # when to expand
    local_send_at: str | None = None  # ISO wall time, schedule "local"
    frequency_cap: int = 4  # marketing messages per number per `frequency_days`; 0: none
    frequency_days: int = 7
    lists: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    segments: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    exclude_lists: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    expanded_through: int = 0
    expanded_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    invalid_numbers: int = 0  # audience members skipped at expansion: no E.164 number
    # UTM parameters of its links (source, medium, campaign, content, term); missing ones
    # take their defaults (gateway.campaigns.links.utm_parameters).
    utm: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # A/B with a test share (gateway.campaigns.abtest): `test_share` percent of the audience
    # get the variants; after `ab_wait_minutes` the winner by `ab_metric` goes to the rest.
    test_share: int | None = None
    ab_metric: str = Field(default="click", sa_column_kwargs={"server_default": "click"})
    ab_wait_minutes: int = Field(default=240, sa_column_kwargs={"server_default": "240"})
    ab_phase: str | None = None  # test -> waiting -> rest; None without a test share
    ab_tested_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # the test group queued
    winner_variant_id: int | None = None
    ab_decision: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    archived_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Transliterate when that saves parts, even where [sms] transliterate is off.
    transliterate: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Send to fixed lines, premium-rate and other non-mobile numbers too (skipped by default).
    include_non_mobile: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    non_mobile: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # skipped at expansion
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class CampaignVariant(SQLModel, table=True):
    """An A/B variant: its own template and its weight (`split`): its share of the audience
    (or of the test group) is its weight over the sum of the weights."""

    __tablename__ = "campaign_variant"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE", index=True)
    name: str
    template: str = Field(sa_type=sa.Text)
    split: int


class Link(SQLModel, table=True):
    """A tracked short link: `{public_url}/r/{code}` redirects to `target` (stored, never given by the click)."""

    __tablename__ = "link"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=16)
    target: str = Field(sa_type=sa.Text)  # with its UTM parameters
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", ondelete="CASCADE", index=True)
    variant_id: int | None = None
    contact_id: int | None = None
    message_id: str | None = Field(default=None, max_length=36)
    # A test send's link: its clicks and conversions are kept but left out of the figures.
    test: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    created_at: datetime = Field(sa_type=UtcDateTime)


class Click(SQLModel, table=True):
    """One visit of a short link; `first` marks the recipient's first click in the campaign."""

    __tablename__ = "click"
    __table_args__ = (
        sa.Index("ix_click_campaign", "campaign_id", "contact_id"),
        sa.Index("ix_click_client", "link_id", "client", "clicked_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="link.id", ondelete="CASCADE", index=True)
    campaign_id: int | None = None
    variant_id: int | None = None
    contact_id: int | None = None
    first: bool = False
    # Keyed hash of the client's IP address and user agent (never the address itself):
    # repeated visits by one client within the click window are recorded once.
    client: str | None = Field(default=None, max_length=64)
    # Handed to the landing page as `?mg_click=...` (`[campaigns] click_id_parameter`), and
    # given back with a conversion.
    click_id: str | None = Field(default=None, max_length=16, unique=True)
    message_id: str | None = Field(default=None, max_length=36)
    test: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    clicked_at: datetime = Field(sa_type=UtcDateTime)


class Conversion(SQLModel, table=True):
    """A purchase or sign-up attributed to a campaign (by click id, link code, or contact).
    One per `order_id`: the same order posted again is the same conversion."""

    __tablename__ = "conversion"
    __table_args__ = (sa.Index("ix_conversion_campaign", "campaign_id", "variant_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    variant_id: int | None = None
    contact_id: int | None = None
    link_id: int | None = None
    value: float | None = None
    order_id: str | None = Field(default=None, max_length=100, unique=True)
    click_id: str | None = Field(default=None, max_length=16)
    message_id: str | None = Field(default=None, max_length=36)
    currency: str | None = Field(default=None, max_length=3)
    test: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    occurred_at: datetime = Field(sa_type=UtcDateTime)


class CampaignAssignment(SQLModel, table=True):
    """A contact's place in an A/B campaign, decided once (gateway.campaigns.abtest): its
    variant, and whether it is in the test group. Preview, test send and expansion read it."""

    __tablename__ = "campaign_assignment"

    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE", primary_key=True)
    contact_id: int = Field(primary_key=True)
    variant_id: int | None = None  # None: the rest of a test-share campaign (gets the winner)
    test: bool = False


# --- automation: keywords, sequences, events, auto-replies, surveys, conversations ---------
# Rows of `gateway.automation`. A sequence step or an automatic answer is an ordinary outbox
# message; these tables say which rule or step queued it, so nothing is sent twice and each
# step can be counted.

__all__ += [
    "EnrollmentStatus",
    "ENROLLMENT_STATUSES",
    "KeywordRule",
    "KeywordConfirmation",
    "DripSequence",
    "SequenceStep",
    "Enrollment",
    "StepSend",
    "ContactEvent",
    "AutoReplyRule",
    "AutoReplySent",
    "Survey",
    "SurveyQuestion",
    "SurveySession",
    "SurveyAnswer",
    "ConversationRead",
]

# active: steps to come; done: every step queued; exited: left early (exit_reason says why).
EnrollmentStatus = Literal["active", "done", "exited"]
ENROLLMENT_STATUSES: tuple[EnrollmentStatus, ...] = ("active", "done", "exited")


class KeywordRule(SQLModel, table=True):
    """A custom inbound keyword and what it does (`gateway.automation.keywords`).

    `key` is the word as compared (`normalise_keyword`); one rule per key and receiving
    modem (`modem_id` None: any modem). `actions` is a JSON list of objects with a `type`.
    """

    __tablename__ = "keyword_rule"
    __table_args__ = (sa.UniqueConstraint("key", "modem_id"),)

    id: int | None = Field(default=None, primary_key=True)
    word: str
    key: str = Field(index=True)
    language: str = "en"
    modem_id: str | None = None
    actions: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    reply: str | None = Field(default=None, sa_type=sa.Text)
    double_opt_in: bool = False
    confirm_prompt: str | None = Field(default=None, sa_type=sa.Text)
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id", ondelete="SET NULL")
    enabled: bool = True
    created_at: datetime = Field(sa_type=UtcDateTime)


class KeywordConfirmation(SQLModel, table=True):
    """A double opt-in waiting for "YES" from `number` (the keyword's actions run then)."""

    __tablename__ = "keyword_confirmation"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(index=True)
    rule_id: int = Field(foreign_key="keyword_rule.id", ondelete="CASCADE")
    proof: str = Field(sa_type=sa.Text)  # the keyword message as received
    inbound_message_id: int | None = None
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class DripSequence(SQLModel, table=True):
    """A drip: steps sent at set times after a trigger (keyword, list join, API event)."""

    __tablename__ = "drip_sequence"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    category: str = "marketing"
    trigger_event: str | None = Field(default=None, index=True)
    trigger_list_id: int | None = Field(default=None, foreign_key="contact_list.id", ondelete="SET NULL")
    list_seen_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # list joins read up to here
    exit_events: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    exit_on_reply: bool = False
    brand: str | None = None
    footer: str | None = None
    enabled: bool = True
    created_at: datetime = Field(sa_type=UtcDateTime)


class SequenceStep(SQLModel, table=True):
    """One text of a sequence, due `delay_seconds` after the contact entered it."""

    __tablename__ = "sequence_step"
    __table_args__ = (sa.UniqueConstraint("sequence_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    sequence_id: int = Field(foreign_key="drip_sequence.id", ondelete="CASCADE")
    position: int  # 1-based
    delay_seconds: int
    template: str = Field(sa_type=sa.Text)


class Enrollment(SQLModel, table=True):
    """A contact going through a sequence: the next step and when it is due.

    The scheduler claims due rows (`status` active, `due_at` passed) and, in one
    transaction, queues the step's message, records the `StepSend` and moves the row on:
    a crash before the commit leaves the step due, after it the step is in the outbox.
    """

    __tablename__ = "enrollment"
    __table_args__ = (
        sa.Index("ix_enrollment_due", "status", "due_at"),
        sa.Index("ix_enrollment_number", "number", "status"),
        sa.CheckConstraint(_in("status", ENROLLMENT_STATUSES), name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sequence_id: int = Field(foreign_key="drip_sequence.id", ondelete="CASCADE", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", ondelete="CASCADE")
    number: str
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)  # of the triggering event
    status: str = "active"
    next_position: int = 1
    due_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    exit_reason: str | None = None
    started_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class StepSend(SQLModel, table=True):
    """A step queued for an enrollment: at most one per (enrollment, step)."""

    __tablename__ = "step_send"
    __table_args__ = (sa.UniqueConstraint("enrollment_id", "step_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = Field(foreign_key="enrollment.id", ondelete="CASCADE")
    sequence_id: int = Field(index=True)
    step_id: int = Field(index=True)
    message_id: str = Field(max_length=36, index=True)
    queued_at: datetime = Field(sa_type=UtcDateTime)


class ContactEvent(SQLModel, table=True):
    """Something that happened to a contact, given through `POST /v1/events`."""

    __tablename__ = "contact_event"
    __table_args__ = (sa.Index("ix_contact_event_number", "number", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", ondelete="SET NULL")
    number: str
    name: str
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    occurred_at: datetime = Field(sa_type=UtcDateTime)


class AutoReplyRule(SQLModel, table=True):
    """An automatic answer to inbound text: by modem, words in the text, or outside hours."""

    __tablename__ = "auto_reply_rule"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    reply: str = Field(sa_type=sa.Text)
    modem_id: str | None = None
    contains: list[str] = Field(default_factory=list, sa_type=sa.JSON)  # any of these words; empty: any text
    # Only outside business hours when set ("HH:MM" in `time_zone`).
    hours_start: str | None = None
    hours_end: str | None = None
    time_zone: str = "UTC"
    max_per_period: int = 1
    period_seconds: int = 86_400
    enabled: bool = True
    created_at: datetime = Field(sa_type=UtcDateTime)


class AutoReplySent(SQLModel, table=True):
    """An automatic answer that was queued, counted against the number's limit."""

    __tablename__ = "auto_reply_sent"
    __table_args__ = (sa.Index("ix_auto_reply_sent_number", "number", "sent_at"),)

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="auto_reply_rule.id", ondelete="CASCADE")
    number: str
    message_id: str = Field(max_length=36)
    sent_at: datetime = Field(sa_type=UtcDateTime)


class Survey(SQLModel, table=True):
    """Questions asked by SMS one after another; answers within `window_seconds` count."""

    __tablename__ = "survey"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    window_seconds: int = 86_400
    invalid_prompt: str = "Sorry, that is not one of the choices."
    thanks: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UtcDateTime)


class SurveyQuestion(SQLModel, table=True):
    """A question: `choices` (JSON list of {"key", "label"}) or free text when empty."""

    __tablename__ = "survey_question"
    __table_args__ = (sa.UniqueConstraint("survey_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", ondelete="CASCADE")
    position: int
    text: str = Field(sa_type=sa.Text)
    choices: list[dict[str, str]] = Field(default_factory=list, sa_type=sa.JSON)


class SurveySession(SQLModel, table=True):
    """One number answering one survey: the open question and until when it is open."""

    __tablename__ = "survey_session"
    __table_args__ = (sa.Index("ix_survey_session_open", "number", "status", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", ondelete="CASCADE", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", ondelete="SET NULL")
    number: str
    position: int = 1
    status: str = "open"  # open | done | expired
    reprompted: bool = False
    asked_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)


class SurveyAnswer(SQLModel, table=True):
    """An accepted answer: the choice key (normalised) or the free text."""

    __tablename__ = "survey_answer"
    __table_args__ = (sa.UniqueConstraint("session_id", "question_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="survey_session.id", ondelete="CASCADE")
    survey_id: int = Field(index=True)
    question_id: int = Field(index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", ondelete="SET NULL")
    number: str = Field(index=True)
    choice: str | None = None
    text: str = Field(sa_type=sa.Text)
    inbound_message_id: int | None = None
    answered_at: datetime = Field(sa_type=UtcDateTime)


class ConversationRead(SQLModel, table=True):
    """How far the conversation with a number has been read (the last inbound message id)."""

    __tablename__ = "conversation_read"

    number: str = Field(primary_key=True)
    read_through: int = 0
    read_at: datetime = Field(sa_type=UtcDateTime)


# --- console: operator accounts and their sessions --------------------------------------

__all__ += ["Role", "ROLES", "ConsoleUser", "ConsoleSession"]

# viewer: reads every page, changes nothing; marketer: sends, audience and campaigns;
# admin: everything (modems, API keys, webhooks). Mapped to API key scopes in gateway.core.users.
Role = Literal["admin", "marketer", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "marketer", "viewer")


class ConsoleUser(SQLModel, table=True):
    """A person who signs in to the web console; only a scrypt hash of the password is kept."""

    __tablename__ = "console_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=64)
    password_hash: str
    role: str
    created_at: datetime = Field(sa_type=UtcDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ConsoleSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so
    a copy of the database opens no session. Ended by logout (`revoked_at`) or by time."""

    __tablename__ = "console_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="console_user.id", ondelete="CASCADE", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
