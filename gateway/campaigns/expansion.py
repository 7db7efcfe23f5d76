"""Expansion: a due campaign into the outbox, one marketing message per contact.

Expansion turns the audience (lists + segments − exclude lists, `gateway.audience.contacts.audience`)
into one marketing message per contact, personalised (`gateway.campaigns.templates`), with the
recipient's own short links (`gateway.campaigns.links`). It streams the audience by contact id in
batches and queues each batch through the outbox's bulk insert (`gateway.core.outbox.insert_many`,
one executemany per table), committed per batch with the campaign's `expanded_through`; so memory
stays flat for a million contacts, other writers get their turn between batches, and a stop
halfway resumes where it was.

Compliance is not decided here but when each message is claimed (`gateway.campaigns.compliance`):
consent, the send window and the frequency cap. Expansion only sets each message's first
due time: the schedule (in the recipient's zone for a local-time schedule) moved to the
window's next opening when it falls outside, so the claim rarely has to defer.
Numbers that are not E.164 (contacts written around the API) get no message; they are
counted in `invalid_numbers`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from gateway.audience.numbertype import is_mobile
from gateway.campaigns import links
from gateway.campaigns.compliance import window_opening
from gateway.campaigns.lifecycle import first_due
from gateway.campaigns.plan import E164, Plan, audience_batches
from gateway.campaigns.templates import contact_values
from gateway.core import outbox
from gateway.core.consentsettings import ConsentSettings
from gateway.core.db import transaction
from gateway.core.errors import NotFound
from gateway.core.models import Campaign, Link, Message
from gateway.core.settings import CampaignSettings
from gateway.core.smssettings import SmsSettings

__all__ = ["VALIDITY", "run_due", "expand"]

VALIDITY = timedelta(days=2)  # counted from a message's first due time, not its expansion
_LINK: sa.Table = Link.__table__  # type: ignore[attr-defined]


def run_due(engine: Engine, *, now: datetime, settings: Any) -> int:
    """The gateway's periodic step: expand every campaign that is due (or was cut off
    halfway), and mark `done` those with nothing left queued or sending. Returns the
    number of messages queued."""
    options = _settings(settings)
    public_url = getattr(settings, "public_url", "http://127.0.0.1:8000")
    sms = getattr(settings, "sms", None)
    consent_settings = getattr(settings, "consent", None)
    with Session(engine) as s:
        due = s.exec(
            select(Campaign.id)
            .where(
                sa.or_(
                    sa.and_(col(Campaign.status) == "scheduled", col(Campaign.send_at) <= now),
                    sa.and_(col(Campaign.status) == "sending", col(Campaign.expanded_at).is_(None)),
                )
            )
            .order_by(col(Campaign.send_at), col(Campaign.id))
        ).all()
    queued = 0
    for campaign_id in cast("Sequence[int]", due):  # ids of stored rows are never None
        with transaction(engine) as conn:
            conn.execute(
                sa.update(Campaign)
                .where(col(Campaign.id) == campaign_id, col(Campaign.status) == "scheduled")
                .values(status="sending", updated_at=now)
            )
        queued += expand(
            engine,
            campaign_id,
            now=now,
            public_url=public_url,
            batch=options.expansion_batch,
            sms=sms if isinstance(sms, SmsSettings) else None,
            consent=consent_settings if isinstance(consent_settings, ConsentSettings) else None,
        )
    busy = (
        sa.select(col(Message.id))
        .where(col(Message.campaign_id) == col(Campaign.id), col(Message.status).in_(("queued", "sending")))
        .exists()
    )
    finished = sa.and_(col(Campaign.status) == "sending", col(Campaign.expanded_at).is_not(None), ~busy)
    with engine.connect() as conn:  # read first: most rounds have nothing to finish, and take no write lock
        any_finished = conn.execute(sa.select(col(Campaign.id)).where(finished).limit(1)).first() is not None
    if any_finished:
        with transaction(engine) as conn:
            conn.execute(sa.update(Campaign).where(finished).values(status="done", finished_at=now, updated_at=now))
    return queued


def expand(
    engine: Engine,
    campaign_id: int,
    *,
    now: datetime,
    public_url: str,
    batch: int = 2_000,
    sms: SmsSettings | None = None,
    consent: ConsentSettings | None = None,
) -> int:
    """Queue the campaign's messages, batch by batch (each committed); returns how many.

    `sms` (the `[sms]` settings) allows national shift tables and transliteration; a campaign
    with `transliterate` set transliterates whatever the setting says. Stops early, keeping
    its place, when the campaign is paused or cancelled meanwhile."""
    total = 0
    plan: Plan | None = None
    rng = random.Random(campaign_id)
    while True:
        with transaction(engine) as conn, Session(bind=conn) as s:
            # Locked: two gateways expanding the same campaign take turns per batch, and
            # each goes on from where the other's committed batch ended.
            row = s.get(Campaign, campaign_id, with_for_update=True)
            if row is None:
                raise NotFound("campaign", campaign_id)
            if row.status != "sending" or row.expanded_at is not None:
                return total
            if plan is None:
                plan = Plan.of(s, row, public_url)
                if consent is not None:
                    plan.consent = consent  # the operator's footers by language
                plan.restore_counts(s, campaign_id)
            rows = next(audience_batches(s, row, batch, after=row.expanded_through), None)
            if not rows:
                conn.execute(
                    sa.update(Campaign).where(col(Campaign.id) == campaign_id).values(expanded_at=now, updated_at=now)
                )
                return total
            made, non_mobile = _expand_batch(conn, row, plan, rows, rng, now=now, sms=sms or SmsSettings())
            total += made
            conn.execute(
                sa.update(Campaign)
                .where(col(Campaign.id) == campaign_id)
                .values(
                    expanded_through=rows[-1].id,
                    invalid_numbers=Campaign.invalid_numbers + (len(rows) - made - non_mobile),
                    non_mobile=Campaign.non_mobile + non_mobile,
                    updated_at=now,
                )
            )


def _expand_batch(
    conn: Connection,
    row: Campaign,
    plan: Plan,
    rows: Sequence[Any],
    rng: random.Random,
    *,
    now: datetime,
    sms: SmsSettings,
) -> tuple[int, int]:
    """Queue one batch through the outbox with its short links; returns how many messages,
    and how many contacts were skipped for a non-mobile number (unless the campaign
    includes them; contacts without an E.164 number get none either). `rng` is seeded by the campaign: the split
    and the concatenation references come out the same on every run."""
    drafts: list[outbox.Draft] = []
    link_rows: list[dict[str, Any]] = []
    due_at = first_due(row, now)
    zones: dict[str, tuple[datetime, str | None]] = {}
    order = list(range(len(rows)))
    rng.shuffle(order)  # variants by deficit in a shuffled order: exact split, no id pattern
    chosen = [0] * len(rows)
    wanted = [bool(E164.match(c.number)) and (row.include_non_mobile or is_mobile(c.number)) for c in rows]
    non_mobile = sum(1 for c, w in zip(rows, wanted, strict=True) if not w and E164.match(c.number))
    for i in order:
        if wanted[i]:
            chosen[i] = plan.assign()
    codes = iter(links.new_codes(plan.max_urls * len(rows)))
    request_hash = f"campaign:{row.id}"
    languages, transliterate = tuple(sms.languages), row.transliterate or sms.transliterate
    for i, contact in enumerate(rows):
        number = contact.number
        if not wanted[i]:
            continue
        template, variant_id = plan.templates[chosen[i]]
        zone = contact.time_zone
        timing = zones.get(zone)
        if timing is None:
            due = due_at(zone)
            opening = window_opening(due, zone, row.window_start, row.window_end)
            timing = zones[zone] = (opening or due, "send_window" if opening else None)
        values = contact_values(number, contact.first_name, contact.last_name, contact.custom_fields)
        short = []
        urls = []
        for u in range(len(template.urls)):
            code = next(codes)
            short.append(plan.link_base + code)
            urls.append((code, plan.targets[variant_id][u]))
        draft = outbox.Draft(
            number, plan.text(template, values, short, contact.locale), request_hash, category="marketing", validity=VALIDITY,
            due=timing[0], concat_ref=rng.randrange(256), api_key_id=row.api_key_id, campaign_id=row.id,
            variant_id=variant_id, contact_id=contact.id, time_zone=zone, held_reason=timing[1],
            languages=languages, transliterate=transliterate,
        )  # fmt: skip
        drafts.append(draft)
        for code, target in urls:
            link_rows.append({
                "code": code, "target": target, "campaign_id": row.id, "variant_id": variant_id,
                "contact_id": contact.id, "message_id": draft.id, "created_at": now,
            })  # fmt: skip
    made = outbox.insert_many(conn, drafts, now=now)
    if link_rows:
        conn.execute(sa.insert(_LINK), link_rows)
    return made, non_mobile


def _settings(settings: Any) -> CampaignSettings:
    found = getattr(settings, "campaigns", None)
    return found if isinstance(found, CampaignSettings) else CampaignSettings()
