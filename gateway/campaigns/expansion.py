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
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from gateway.audience.numbertype import is_mobile
from gateway.campaigns import abtest, analytics, assignment, links
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

__all__ = ["VALIDITY", "run_due", "expand", "decide_winners"]

VALIDITY = timedelta(days=2)  # counted from a message's first due time, not its expansion
_LINK: sa.Table = Link.__table__  # type: ignore[attr-defined]


def run_due(engine: Engine, *, now: datetime, settings: Any) -> int:
    """The gateway's periodic step: expand every campaign that is due (or was cut off
    halfway), and mark `done` those with nothing left queued or sending. Returns the
    number of messages queued."""
    options = _settings(settings)
    public_url = getattr(settings, "public_url", "http://127.0.0.1:8000")
    decide_winners(engine, now=now, alpha=options.ab_alpha)
    sms = getattr(settings, "sms", None)
    consent_settings = getattr(settings, "consent", None)
    with Session(engine) as s:
        due = s.exec(
            select(Campaign.id)
            .where(
                sa.or_(
                    sa.and_(col(Campaign.status) == "scheduled", col(Campaign.send_at) <= now),
                    sa.and_(
                        col(Campaign.status) == "sending",
                        col(Campaign.expanded_at).is_(None),
                        sa.or_(col(Campaign.ab_phase).is_(None), col(Campaign.ab_phase) != "waiting"),
                    ),
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
            engine, campaign_id, now=now, public_url=public_url, batch=options.expansion_batch,
            link_domains=options.link_domains, sms=sms if isinstance(sms, SmsSettings) else None,
            consent=consent_settings if isinstance(consent_settings, ConsentSettings) else None,
        )  # fmt: skip
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


def decide_winners(engine: Engine, *, now: datetime, alpha: float = 0.05) -> int:
    """Choose the winner of every test-share campaign whose wait is over (or whose winner was
    chosen by hand) and let its rest be expanded; returns how many were decided. The
    decision itself is `abtest.decide`, on the test group's figures (`analytics.test_arms`)."""
    with Session(engine) as s:
        waiting = s.exec(
            select(Campaign.id).where(col(Campaign.status) == "sending", col(Campaign.ab_phase) == "waiting")
        ).all()
    decided = 0
    for campaign_id in cast("Sequence[int]", waiting):
        with transaction(engine) as conn, Session(bind=conn) as s:
            row = s.get(Campaign, campaign_id, with_for_update=True)
            if row is None or row.status != "sending" or row.ab_phase != "waiting":
                continue
            values: dict[str, Any] = {"ab_phase": "rest", "updated_at": now}
            if row.winner_variant_id is None:
                arms = analytics.test_arms(s, campaign_id, row.ab_metric)
                wait = timedelta(minutes=row.ab_wait_minutes)
                decision = abtest.decide(
                    arms, metric=row.ab_metric, tested_at=row.ab_tested_at, wait=wait, now=now, alpha=alpha
                )
                if decision is None:
                    continue
                values.update(winner_variant_id=decision.winner_id, ab_decision=decision.as_json())
            conn.execute(sa.update(Campaign).where(col(Campaign.id) == campaign_id).values(**values))
            decided += 1
    return decided


def expand(
    engine: Engine,
    campaign_id: int,
    *,
    now: datetime,
    public_url: str,
    batch: int = 2_000,
    link_domains: Mapping[str, str] | None = None,
    sms: SmsSettings | None = None,
    consent: ConsentSettings | None = None,
) -> int:
    """Queue the campaign's messages, batch by batch (each committed); returns how many.

    With a test share it runs twice: first the test group (`ab_phase` test, then waiting
    for the winner, `decide_winners`), then the rest with the winner (`ab_phase` rest).
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
            if row.status != "sending" or row.expanded_at is not None or row.ab_phase == "waiting":
                return total
            if plan is None:
                plan = Plan.of(s, row, public_url, link_domains)
                rng = random.Random(f"{campaign_id}:{row.ab_phase}")
                if consent is not None:
                    plan.consent = consent  # the operator's footers by language
            phase = row.ab_phase
            if phase is None and row.test_share is not None and plan.arms is not None:
                phase = "test"
                conn.execute(sa.update(Campaign).where(col(Campaign.id) == campaign_id).values(ab_phase=phase))
            rows = next(audience_batches(s, row, batch, after=row.expanded_through), None)
            if not rows:
                done: dict[str, Any] = (
                    {"ab_phase": "waiting", "ab_tested_at": now, "expanded_through": 0}
                    if phase == "test"
                    else {"expanded_at": now}
                )
                conn.execute(sa.update(Campaign).where(col(Campaign.id) == campaign_id).values(**done, updated_at=now))
                return total
            made, non_mobile = _expand_batch(conn, row, plan, rows, rng, phase=phase, now=now, sms=sms or SmsSettings())
            total += made
            invalid = 0 if phase == "rest" else sum(1 for r in rows if not E164.match(r.number))
            conn.execute(
                sa.update(Campaign)
                .where(col(Campaign.id) == campaign_id)
                .values(
                    expanded_through=rows[-1].id,
                    invalid_numbers=Campaign.invalid_numbers + invalid,
                    non_mobile=Campaign.non_mobile + (0 if phase == "rest" else non_mobile),
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
    phase: str | None,
    now: datetime,
    sms: SmsSettings,
) -> tuple[int, int]:
    """Queue one batch through the outbox with its short links; returns how many messages,
    and how many contacts were skipped for a non-mobile number (unless the campaign
    includes them; contacts without an E.164 number get none either). Each contact gets the
    variant it was assigned (`gateway.campaigns.assignment`); in a test-share campaign the
    test phase queues the test group only, and the rest phase everyone else, with the
    winner. `rng` is seeded by the campaign: the concatenation references come out the same
    on every run."""
    drafts: list[outbox.Draft] = []
    link_rows: list[dict[str, Any]] = []
    due_at = first_due(row, now)
    zones: dict[str, tuple[datetime, str | None]] = {}
    valid = [c for c in rows if E164.match(c.number)]
    wanted = [c for c in valid if row.include_non_mobile or is_mobile(c.number)]
    non_mobile = len(valid) - len(wanted)
    ids = [c.id for c in wanted]
    placed = assignment.places(conn, plan.arms, ids) if plan.arms is not None else {}
    already: set[int] = set()
    if phase == "rest" and ids:  # those the test phase sent (or who joined the test group since)
        already = {
            c
            for c in conn.execute(
                sa.select(col(Message.contact_id)).where(
                    col(Message.campaign_id) == row.id, col(Message.contact_id).in_(ids)
                )
            ).scalars()
            if c is not None
        }
    codes = iter(links.new_codes(plan.max_urls * len(wanted)))
    request_hash = f"campaign:{row.id}"
    languages, transliterate = tuple(sms.languages), row.transliterate or sms.transliterate
    for contact in wanted:
        place = placed.get(contact.id)
        if phase == "test" and (place is None or not place.test):
            continue
        if phase == "rest" and contact.id in already:
            continue
        template, variant_id, _ = plan.placed(place)
        number = contact.number
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
    made = outbox.insert_many(conn, drafts, now=now) if drafts else 0
    if link_rows:
        conn.execute(sa.insert(_LINK), link_rows)
    return made, non_mobile


def _settings(settings: Any) -> CampaignSettings:
    found = getattr(settings, "campaigns", None)
    return found if isinstance(found, CampaignSettings) else CampaignSettings()
