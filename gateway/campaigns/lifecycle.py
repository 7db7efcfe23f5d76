"""Campaigns: draft, review, schedule, expansion into the outbox, pause / resume / cancel.

    draft ──review──▶ review ──schedule──▶ scheduled ──(due: run_due)──▶ sending ──▶ done
      ▲                 │                      │                          │  ▲
      └──── patch ──────┘                      └──────── pause ───────────┴▶ paused (resume)
    any state before done ──cancel──▶ cancelled

Expansion turns the audience (lists + segments − exclude lists, `gateway.audience.contacts.audience`)
into one marketing message per contact, personalised (`gateway.campaigns.templates`), with the
recipient's own short links (`gateway.campaigns.links`). It streams the audience by contact id in
batches and inserts each batch with one executemany per table, committed per batch with the
campaign's `expanded_through`; so memory stays flat for a million contacts, other writers
get their turn between batches, and a stop halfway resumes where it was.

Compliance is not decided here but when each message is claimed (`gateway.campaigns.compliance`):
consent, the send window and the frequency cap. Expansion only sets each message's first
due time: the schedule (in the recipient's zone for a local-time schedule) moved to the
window's next opening when it falls outside, so the claim rarely has to defer.
Numbers that are not E.164 (contacts written around the API) get no message; they are
counted in `invalid_numbers`.
"""

from __future__ import annotations

import random
import re
import uuid
import zoneinfo
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from drivers.sms import choose_encoding, encode_submit
from gateway.audience import consent, contacts
from gateway.campaigns import links
from gateway.core import outbox
from gateway.campaigns.compliance import parse_clock, window_opening
from gateway.core.db import get_or_raise, transaction
from gateway.core.errors import GatewayError, InvalidInput, NotFound
from gateway.core import paging
from gateway.core.models import Campaign, CampaignVariant, Contact, Link, Message, Part
from gateway.core.settings import CampaignSettings
from gateway.campaigns.templates import CODE_LENGTH, DEFAULT_FOOTER, Template, compile_template, compose, contact_values, estimate_text, short_link

__all__ = [
    "CampaignSettings",
    "WrongState",
    "Issue",
    "Review",
    "Preview",
    "create",
    "update",
    "get",
    "variants_of",
    "campaigns_page",
    "review",
    "preview",
    "test_send",
    "schedule",
    "pause",
    "resume",
    "cancel",
    "expand",
    "run_due",
    "month_segments",
    "VALIDITY",
]

VALIDITY = timedelta(days=2)  # counted from a message's first due time, not its expansion
EARLIEST_OFFSET = timedelta(hours=14)  # UTC+14 (Kiribati): the first zone to reach a local time
MAX_TEST_NUMBERS = 5
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_EDITABLE = ("draft", "review")
_SLUG = re.compile(r"[^a-z0-9]+")


class WrongState(GatewayError):
    """The campaign is not in a state that allows this (e.g. patching one that is sending)."""

    code = "conflict"

    def __init__(self, campaign_id: int, status: str, action: str) -> None:
        self.existing_id = campaign_id
        super().__init__(f"campaign {campaign_id} is {status}: cannot {action}")


@dataclass(frozen=True)
class Issue:
    code: str  # e.g. no_consent, invalid_numbers, missing_token, quota, quiet_hours
    message: str
    count: int | None = None


@dataclass
class Review:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    audience: int = 0
    sendable: int = 0  # valid number, not opted out, with consent
    invalid_numbers: int = 0
    opted_out: int = 0
    no_consent: int = 0
    deferred: int = 0  # outside the send window at the scheduled time: they wait
    segments_min: int = 0
    segments_max: int = 0
    segments_total: int = 0  # over the sendable recipients
    quota: int = 0
    quota_used: int = 0  # parts sent this month so far
    quota_share: float | None = None  # (used + this campaign) / quota


@dataclass(frozen=True)
class Preview:
    contact_id: int
    number: str
    variant: str | None
    text: str
    encoding: str
    segments: int
    characters: int
    missing_tokens: list[str]


# --- drafting -----------------------------------------------------------------------------


def create(s: Session, data: Mapping[str, Any], *, api_key_id: int | None, now: datetime) -> Campaign:
    """A draft from API-shaped data (name, template, variants, brand, footer, window_start,
    window_end, frequency_cap, frequency_days, lists, segments, exclude_lists, slug)."""
    name = str(data.get("name") or "").strip()
    if not name:
        raise InvalidInput("name", "missing")
    slug = _unique_slug(s, data.get("slug") or name)
    row = Campaign(name=name, slug=slug, template="", api_key_id=api_key_id, created_at=now, updated_at=now)
    _apply(s, row, {"footer": DEFAULT_FOOTER, **data})
    s.add(row)
    s.flush()
    _set_variants(s, row, data.get("variants") or [])
    return row


def update(s: Session, campaign_id: int, changes: Mapping[str, Any], *, now: datetime) -> Campaign:
    """Change a draft (or a reviewed one, which goes back to draft: review again)."""
    row = get(s, campaign_id)
    if row.status not in _EDITABLE:
        raise WrongState(campaign_id, row.status, "change it")
    if changes.get("slug"):
        row.slug = _unique_slug(s, changes["slug"], campaign_id)
    if "name" in changes:
        row.name = str(changes["name"] or "").strip() or row.name
    _apply(s, row, changes)
    if "variants" in changes:
        _set_variants(s, row, changes["variants"] or [])
    row.status = "draft"
    row.updated_at = now
    s.add(row)
    s.flush()
    return row


def get(s: Session, campaign_id: int) -> Campaign:
    return get_or_raise(s, Campaign, campaign_id, "campaign")


def variants_of(s: Session, campaign_id: int) -> list[CampaignVariant]:
    return list(s.exec(select(CampaignVariant).where(col(CampaignVariant.campaign_id) == campaign_id).order_by(col(CampaignVariant.id))))


def campaigns_page(s: Session, *, cursor: str | None, limit: int, status: str | None = None) -> paging.Page[Campaign]:
    """Campaigns, newest first, one page from `cursor`."""
    query = select(Campaign)
    if status is not None:
        query = query.where(Campaign.status == status)
    return paging.query_page(s, query, Campaign.created_at, Campaign.id, cursor=cursor, limit=limit)


# --- review, preview, test send -----------------------------------------------------------


def review(s: Session, campaign_id: int, *, public_url: str, now: datetime, settings: CampaignSettings | None = None) -> Review:
    """Check a campaign against its audience as it is now (streamed); a draft without errors
    becomes `review` (ready to schedule)."""
    settings = settings or CampaignSettings()
    row = get(s, campaign_id)
    result = Review()
    try:
        plan = _Plan.of(s, row, public_url)
    except InvalidInput as exc:
        result.errors.append(Issue("invalid_template", str(exc)))
        return result
    missing: Counter[str] = Counter()
    segments: list[int] = []
    due_at = _first_due(row, now)
    zones: dict[str, bool] = {}
    placeholder = ["x" * CODE_LENGTH] * 8
    for batch in _batches(s, row, settings.expansion_batch, after=0):
        states = consent.states(s, [c.number for c in batch if _E164.match(c.number)])
        for contact in batch:
            result.audience += 1
            if not _E164.match(contact.number):
                result.invalid_numbers += 1
                continue
            kind, suppressed = states[contact.number]
            if suppressed:
                result.opted_out += 1
                continue
            if kind != "opt_in":
                result.no_consent += 1
                continue
            result.sendable += 1
            template, _ = plan.pick_preview(contact.id)
            values = contact_values(contact.number, contact.first_name, contact.last_name, contact.custom_fields)
            missing.update(template.missing(values))
            text = plan.text(template, values, [short_link(public_url, c) for c in placeholder])
            try:
                segments.append(estimate_text(text).segments)
            except InvalidInput as exc:
                result.errors.append(Issue("invalid_text", f"contact {contact.id}: {exc}"))
                return result
            when = due_at(contact.time_zone)
            key = f"{contact.time_zone}|{when.isoformat()}"
            if key not in zones:
                zones[key] = window_opening(when, contact.time_zone, row.window_start, row.window_end) is not None
            result.deferred += zones[key]
    if segments:
        result.segments_min, result.segments_max, result.segments_total = min(segments), max(segments), sum(segments)
    if result.audience == 0:
        result.errors.append(Issue("empty_audience", "the audience has no contacts"))
    elif result.sendable == 0:
        result.errors.append(Issue("nothing_to_send", "no contact in the audience may be sent marketing"))
    if result.invalid_numbers:
        result.warnings.append(Issue("invalid_numbers", f"{result.invalid_numbers} contacts have no valid number", result.invalid_numbers))
    if result.opted_out:
        result.warnings.append(Issue("opted_out", f"{result.opted_out} contacts opted out: nothing goes to them", result.opted_out))
    if result.no_consent:
        result.warnings.append(Issue("no_consent", f"{result.no_consent} contacts gave no consent to marketing: nothing goes to them", result.no_consent))
    for token, count in sorted(missing.items()):
        result.warnings.append(Issue("missing_token", f"{{{{{token}}}}} has no value (and no default) for {count} recipients", count))
    if result.deferred:
        result.warnings.append(
            Issue("quiet_hours", f"{result.deferred} recipients are outside {row.window_start}-{row.window_end} local time then: they wait for the window", result.deferred)
        )
    if result.segments_max > 1:
        result.warnings.append(Issue("multipart", f"up to {result.segments_max} parts per recipient, {result.segments_total} in all", result.segments_max))
    result.quota = settings.monthly_segment_quota
    result.quota_used = month_segments(s, now)
    if result.quota:
        result.quota_share = (result.quota_used + result.segments_total) / result.quota
        if result.quota_share > 1:
            result.errors.append(Issue("quota", f"{result.quota_used} + {result.segments_total} parts exceed the monthly quota of {result.quota}"))
        elif result.quota_share >= settings.quota_warning:
            result.warnings.append(Issue("quota", f"{result.quota_share:.0%} of the monthly quota of {result.quota} parts"))
    if not result.errors and row.status == "draft":
        row.status = "review"
        row.updated_at = now
        s.add(row)
        s.flush()
    return result


def preview(s: Session, campaign_id: int, contact_id: int, *, public_url: str) -> Preview:
    """The text one contact would get (short links shown with a placeholder code)."""
    row = get(s, campaign_id)
    contact = contacts.get_contact(s, contact_id)
    plan = _Plan.of(s, row, public_url)
    template, variant = plan.pick_preview(contact_id)
    values = contact_values(contact.number, contact.first_name, contact.last_name, contact.custom_fields)
    text = plan.text(template, values, [short_link(public_url, "x" * CODE_LENGTH)] * len(template.urls))
    estimate = estimate_text(text)
    return Preview(contact_id, contact.number, variant, text, estimate.encoding, estimate.segments, estimate.characters, template.missing(values))


def test_send(
    s: Session,
    campaign_id: int,
    numbers: Sequence[str],
    *,
    region: str,
    public_url: str,
    api_key_id: int | None,
    now: datetime,
    contact_id: int | None = None,
) -> list[Message]:
    """Send the campaign's text to a few numbers (the team's own phones), now.

    Sent as transactional (a proof for its sender, not marketing to them), rendered for
    `contact_id` or with the tokens' defaults; its links work but their clicks are not
    counted. Commits.
    """
    if not numbers or len(numbers) > MAX_TEST_NUMBERS:
        raise InvalidInput("numbers", f"1 to {MAX_TEST_NUMBERS} numbers")
    row = get(s, campaign_id)
    plan = _Plan.of(s, row, public_url)
    values: dict[str, Any] = {}
    if contact_id is not None:
        c = contacts.get_contact(s, contact_id)
        values = contact_values(c.number, c.first_name, c.last_name, c.custom_fields)
    e164 = [contacts.normalise_number(n, region, field="numbers") for n in numbers]
    sent = []
    for number in e164:
        template, variant_id = plan.templates[0]
        codes = links.new_codes(len(template.urls))
        for i, code in enumerate(codes):
            s.add(Link(code=code, target=plan.targets[variant_id][i], campaign_id=row.id, variant_id=variant_id, created_at=now))
        text = plan.text(template, values, [short_link(public_url, c) for c in codes])
        submission = outbox.submit(s, api_key_id=api_key_id, recipient=number, text=text, now=now)
        sent.append(submission.message)
    return sent


# --- schedule and lifecycle ---------------------------------------------------------------


def schedule(
    s: Session, campaign_id: int, *, kind: str, now: datetime, at: datetime | None = None, local_at: datetime | None = None
) -> Campaign:
    """Schedule a reviewed campaign: `now`, `at` a UTC time, or `local` (`local_at`, a wall
    time without zone, in each recipient's own zone)."""
    row = get(s, campaign_id)
    if row.status != "review":
        raise WrongState(campaign_id, row.status, "schedule it (review it first)")
    if kind == "now":
        row.send_at, row.local_send_at = now, None
    elif kind == "at":
        if at is None or at.tzinfo is None:
            raise InvalidInput("at", "an ISO 8601 time with offset")
        row.send_at, row.local_send_at = max(at, now), None
    elif kind == "local":
        if local_at is None or local_at.tzinfo is not None:
            raise InvalidInput("local_at", "a wall time without offset, e.g. 2026-12-01T10:00")
        row.local_send_at = local_at.isoformat(timespec="minutes")
        row.send_at = max(now, local_at.replace(tzinfo=timezone.utc) - EARLIEST_OFFSET)
    else:
        raise InvalidInput("schedule", "one of now, at, local")
    row.schedule = kind
    row.status = "scheduled"
    row.updated_at = now
    s.add(row)
    s.flush()
    return row


def pause(s: Session, campaign_id: int, *, now: datetime) -> Campaign:
    """Stop sending: queued messages wait (held `paused`) until resume."""
    row = get(s, campaign_id)
    if row.status not in ("scheduled", "sending"):
        raise WrongState(campaign_id, row.status, "pause it")
    s.execute(
        sa.update(Message)
        .where(col(Message.campaign_id) == campaign_id, col(Message.status) == "queued")
        .values(held_reason="paused", next_attempt_at=now + timedelta(days=3650), updated_at=now)
    )
    row.status, row.updated_at = "paused", now
    s.add(row)
    s.flush()
    return row


def resume(s: Session, campaign_id: int, *, now: datetime) -> Campaign:
    """Go on: a paused campaign that had started sends again (each zone at its schedule or
    the window's next opening); one paused before it started is scheduled again."""
    row = get(s, campaign_id)
    if row.status != "paused":
        raise WrongState(campaign_id, row.status, "resume it")
    started = s.exec(select(Message.id).where(Message.campaign_id == campaign_id).limit(1)).first() is not None
    row.status = "sending" if started or row.expanded_through else "scheduled"
    due_at = _first_due(row, now)
    held = col(Message.campaign_id) == campaign_id, col(Message.status) == "queued", col(Message.held_reason) == "paused"
    for zone in s.exec(select(Message.time_zone).where(*held).distinct()).all():
        due = due_at(zone or "UTC")
        opening = window_opening(due, zone or "UTC", row.window_start, row.window_end)
        s.execute(
            sa.update(Message)
            .where(*held, col(Message.time_zone) == zone if zone is not None else col(Message.time_zone).is_(None))
            .values(next_attempt_at=opening or due, held_reason="send_window" if opening else None, updated_at=now)
        )
    row.updated_at = now
    s.add(row)
    s.flush()
    return row


def cancel(s: Session, campaign_id: int, *, now: datetime) -> Campaign:
    """End a campaign: what is still queued is suppressed (`cancelled`), nothing more goes.

    Those messages end in one statement, without a `message.status` event each."""
    row = get(s, campaign_id)
    if row.status in ("done", "cancelled"):
        raise WrongState(campaign_id, row.status, "cancel it")
    queued = sa.select(col(Message.id)).where(col(Message.campaign_id) == campaign_id, col(Message.status) == "queued")
    s.execute(sa.update(Part).where(col(Part.message_id).in_(queued), col(Part.status) == "pending").values(status="cancelled", error="not sent: cancelled"))
    s.execute(
        sa.update(Message)
        .where(col(Message.campaign_id) == campaign_id, col(Message.status) == "queued")
        .values(status="suppressed", held_reason="cancelled", last_error="not sent: cancelled", updated_at=now)
    )
    row.status, row.finished_at, row.updated_at = "cancelled", now, now
    s.add(row)
    s.flush()
    return row


# --- expansion ----------------------------------------------------------------------------


def run_due(engine: Engine, *, now: datetime, settings: Any) -> int:
    """The gateway's periodic step: expand every campaign that is due (or was cut off
    halfway), and mark `done` those with nothing left queued or sending. Returns the
    number of messages queued."""
    options = _settings(settings)
    public_url = getattr(settings, "public_url", "http://127.0.0.1:8000")
    with Session(engine) as s:
        due = s.exec(
            select(Campaign.id).where(
                sa.or_(
                    sa.and_(col(Campaign.status) == "scheduled", col(Campaign.send_at) <= now),
                    sa.and_(col(Campaign.status) == "sending", col(Campaign.expanded_at).is_(None)),
                )
            ).order_by(col(Campaign.send_at), col(Campaign.id))
        ).all()
    queued = 0
    for campaign_id in cast("Sequence[int]", due):  # ids of stored rows are never None
        with transaction(engine) as conn:
            conn.execute(
                sa.update(Campaign).where(col(Campaign.id) == campaign_id, col(Campaign.status) == "scheduled").values(status="sending", updated_at=now)
            )
        queued += expand(engine, campaign_id, now=now, public_url=public_url, batch=options.expansion_batch)
    busy = sa.select(col(Message.id)).where(col(Message.campaign_id) == col(Campaign.id), col(Message.status).in_(("queued", "sending"))).exists()
    finished = sa.and_(col(Campaign.status) == "sending", col(Campaign.expanded_at).is_not(None), ~busy)
    with engine.connect() as conn:  # read first: most rounds have nothing to finish, and take no write lock
        any_finished = conn.execute(sa.select(col(Campaign.id)).where(finished).limit(1)).first() is not None
    if any_finished:
        with transaction(engine) as conn:
            conn.execute(sa.update(Campaign).where(finished).values(status="done", finished_at=now, updated_at=now))
    return queued


def expand(engine: Engine, campaign_id: int, *, now: datetime, public_url: str, batch: int = 2_000) -> int:
    """Queue the campaign's messages, batch by batch (each committed); returns how many.

    Stops early, keeping its place, when the campaign is paused or cancelled meanwhile."""
    total = 0
    plan: _Plan | None = None
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
                plan = _Plan.of(s, row, public_url)
                plan.restore_counts(s, campaign_id)
            rows = next(_batches(s, row, batch, after=row.expanded_through), None)
            if not rows:
                conn.execute(sa.update(Campaign).where(col(Campaign.id) == campaign_id).values(expanded_at=now, updated_at=now))
                return total
            made = _expand_batch(conn, row, plan, rows, rng, now=now)
            total += made
            conn.execute(
                sa.update(Campaign)
                .where(col(Campaign.id) == campaign_id)
                .values(
                    expanded_through=rows[-1].id,
                    invalid_numbers=Campaign.invalid_numbers + (len(rows) - made),
                    updated_at=now,
                )
            )


def _expand_batch(conn: Connection, row: Campaign, plan: _Plan, rows: Sequence[Any], rng: random.Random, *, now: datetime) -> int:
    messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    link_rows: list[dict[str, Any]] = []
    due_at = _first_due(row, now)
    zones: dict[str, tuple[datetime, str | None]] = {}
    order = list(range(len(rows)))
    rng.shuffle(order)  # variants by deficit in a shuffled order: exact split, no id pattern
    chosen = [0] * len(rows)
    for i in order:
        if _E164.match(rows[i].number):
            chosen[i] = plan.assign()
    codes = iter(links.new_codes(plan.max_urls * len(rows)))
    request_hash = f"campaign:{row.id}"
    for i, contact in enumerate(rows):
        number = contact.number
        if not _E164.match(number):
            continue
        template, variant_id = plan.templates[chosen[i]]
        zone = contact.time_zone
        timing = zones.get(zone)
        if timing is None:
            due = due_at(zone)
            opening = window_opening(due, zone, row.window_start, row.window_end)
            timing = zones[zone] = (opening or due, "send_window" if opening else None)
        message_id = str(uuid.uuid4())
        short = []
        for u in range(len(template.urls)):
            code = next(codes)
            short.append(plan.link_base + code)
            link_rows.append({
                "code": code, "target": plan.targets[variant_id][u], "campaign_id": row.id, "variant_id": variant_id,
                "contact_id": contact.id, "message_id": message_id, "created_at": now,
            })  # fmt: skip
        values = contact_values(number, contact.first_name, contact.last_name, contact.custom_fields)
        text = plan.text(template, values, short)
        encoding = choose_encoding(text)
        ref = rng.randrange(256)
        encoded = encode_submit(number, text, encoding=encoding, ref=ref, validity=VALIDITY)
        messages.append({
            "id": message_id, "api_key_id": row.api_key_id, "idempotency_key": None, "request_hash": request_hash,
            "recipient": number, "text": text, "encoding": encoding, "category": "marketing", "status": "queued",
            "requested_modem": None, "modem_id": None, "concat_ref": ref if len(encoded) > 1 else None,
            "generation": 1, "parts_total": len(encoded), "attempts": 0, "next_attempt_at": timing[0],
            "valid_until": timing[0] + VALIDITY, "lease_owner": None, "lease_until": None, "last_error": None,
            "callback_url": None, "keyword_reply": False, "created_at": now, "updated_at": now, "sent_at": None,
            "campaign_id": row.id, "variant_id": variant_id, "contact_id": contact.id, "time_zone": zone,
            "held_reason": timing[1],
        })  # fmt: skip
        for seq, p in enumerate(encoded, 1):
            parts.append({
                "message_id": message_id, "generation": 1, "seq": seq, "pdu": p.pdu, "tpdu_length": p.tpdu_length,
                "status": "pending", "attempt": 0, "modem_id": None, "message_reference": None,
                "submitted_at": None, "delivered_at": None, "report_status": None, "error": None,
            })  # fmt: skip
    if messages:
        conn.execute(sa.insert(Message.__table__), messages)  # type: ignore[attr-defined]
        conn.execute(sa.insert(Part.__table__), parts)  # type: ignore[attr-defined]
        if link_rows:
            conn.execute(sa.insert(Link.__table__), link_rows)  # type: ignore[attr-defined]
    return len(messages)


def month_segments(s: Session | Connection, now: datetime) -> int:
    """Parts sent since the start of this calendar month (UTC): what the quota counts."""
    start = now.astimezone(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    used = s.execute(sa.select(sa.func.coalesce(sa.func.sum(col(Message.parts_total)), 0)).where(col(Message.sent_at) >= start)).scalar()
    return int(used or 0)


# --- helpers ------------------------------------------------------------------------------


class _Plan:
    """A campaign compiled for rendering: its templates (one per variant), link targets,
    and the running assignment of recipients to variants."""

    def __init__(self, row: Campaign, templates: list[tuple[Template, int | None]], splits: list[int], names: list[str | None], public_url: str) -> None:
        self.row = row
        self.templates = templates
        self.splits = splits
        self.names = names
        self.link_base = short_link(public_url, "")
        self.max_urls = max(len(t.urls) for t, _ in templates)
        self.targets = {
            vid: [links.with_utm(u, campaign=row.slug, variant=name) for u in t.urls]
            for (t, vid), name in zip(templates, names, strict=True)
        }
        self.assigned = [0] * len(templates)

    @classmethod
    def of(cls, s: Session, row: Campaign, public_url: str) -> _Plan:
        variants = variants_of(s, row.id)  # type: ignore[arg-type]
        if not variants:
            return cls(row, [(compile_template(row.template), None)], [100], [None], public_url)
        templates = [(compile_template(v.template, field=f"variants.{v.name}.template"), v.id) for v in variants]
        return cls(row, templates, [v.split for v in variants], [v.name for v in variants], public_url)

    def restore_counts(self, s: Session, campaign_id: int) -> None:
        """After a restart, the split goes on from what was already assigned."""
        ids = [vid for _, vid in self.templates]
        if ids == [None]:
            return
        counts = dict(s.exec(select(col(Message.variant_id), sa.func.count()).where(col(Message.campaign_id) == campaign_id).group_by(col(Message.variant_id))).all())
        self.assigned = [counts.get(vid, 0) for vid in ids]

    def assign(self) -> int:
        """The variant furthest behind its share (largest deficit): splits land exactly."""
        if len(self.templates) == 1:
            return 0
        total = sum(self.assigned) + 1
        best = max(range(len(self.splits)), key=lambda i: self.splits[i] * total / 100 - self.assigned[i])
        self.assigned[best] += 1
        return best

    def pick_preview(self, contact_id: int | None) -> tuple[Template, str | None]:
        """A variant for a preview or review (by contact id, as a stand-in for the split)."""
        if len(self.templates) == 1:
            return self.templates[0][0], self.names[0]
        point = (contact_id or 0) * 37 % 100
        for (template, _), split, name in zip(self.templates, self.splits, self.names, strict=True):
            if point < split:
                return template, name
            point -= split
        return self.templates[-1][0], self.names[-1]

    def text(self, template: Template, values: Mapping[str, Any], short: Sequence[str]) -> str:
        return compose(template.render(values, short), brand=self.row.brand, footer=self.row.footer)


def _first_due(row: Campaign, now: datetime) -> Any:
    """zone -> when a recipient there is first due (before the send window is applied)."""
    if row.schedule == "local" and row.local_send_at:
        wall = datetime.fromisoformat(row.local_send_at)
        cache: dict[str, datetime] = {}

        def local(zone: str) -> datetime:
            if zone not in cache:
                try:
                    tz = zoneinfo.ZoneInfo(zone)
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    tz = zoneinfo.ZoneInfo("UTC")
                cache[zone] = max(now, wall.replace(tzinfo=tz).astimezone(timezone.utc))
            return cache[zone]

        return local
    start = max(now, row.send_at) if row.send_at is not None else now
    return lambda zone: start


def _batches(s: Session, row: Campaign, size: int, *, after: int) -> Iterator[Sequence[Any]]:
    """The audience's contacts by id after `after`, `size` at a time (never all at once)."""
    ids = contacts.audience(s, lists=row.lists, segments=row.segments, exclude_lists=row.exclude_lists)
    query = ids.with_only_columns(
        col(Contact.id), col(Contact.number), col(Contact.first_name), col(Contact.last_name), col(Contact.custom_fields), col(Contact.time_zone)
    )
    while True:
        rows = s.execute(query.where(col(Contact.id) > after).limit(size)).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


def _apply(s: Session, row: Campaign, data: Mapping[str, Any]) -> None:
    """Copy and check the editable fields present in `data`."""
    if "template" in data:
        row.template = str(data["template"] or "")
        compile_template(row.template)
    for name in ("brand", "footer"):
        if name in data:
            value = data[name]
            setattr(row, name, str(value).strip() or None if value is not None else None)
    for name in ("window_start", "window_end"):
        if name in data and data[name] is not None:
            try:
                parse_clock(data[name])
            except ValueError as exc:
                raise InvalidInput(name, str(exc)) from None
            setattr(row, name, data[name])
    if parse_clock(row.window_start) == 1440:
        raise InvalidInput("window_start", "24:00 ends a day; a window starts at 00:00 to 23:59")
    for name in ("frequency_cap", "frequency_days"):
        if name in data and data[name] is not None:
            value = data[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "frequency_cap" else 1):
                raise InvalidInput(name, "a whole number (cap ≥ 0, days ≥ 1)")
            setattr(row, name, value)
    for name, kind in (("lists", "list"), ("exclude_lists", "exclude")):
        if name in data and data[name] is not None:
            ids = list(dict.fromkeys(data[name]))
            for list_id in ids:
                if contacts.get_list(s, list_id).kind != kind:
                    raise InvalidInput(name, f"list {list_id} is not of kind {kind}")
            setattr(row, name, ids)
    if "segments" in data and data["segments"] is not None:
        ids = list(dict.fromkeys(data["segments"]))
        for segment_id in ids:
            contacts.get_segment(s, segment_id)
        row.segments = ids


def _set_variants(s: Session, row: Campaign, variants: Sequence[Mapping[str, Any]]) -> None:
    for old in variants_of(s, row.id):  # type: ignore[arg-type]
        s.delete(old)
    s.flush()
    if not variants:
        if not row.template:
            raise InvalidInput("template", "missing: give a template or variants")
        return
    if len(variants) < 2:
        raise InvalidInput("variants", "an A/B test has at least two variants (or give none)")
    names = [str(v.get("name") or "").strip() for v in variants]
    if not all(names) or len(set(names)) != len(names):
        raise InvalidInput("variants", "each variant needs its own name")
    splits: list[Any] = [v.get("split") for v in variants]
    if not all(isinstance(x, int) and 0 < x <= 100 for x in splits) or sum(splits) != 100:
        raise InvalidInput("variants", "splits are whole percentages that add up to 100")
    for i, (v, name) in enumerate(zip(variants, names, strict=True)):
        compile_template(str(v.get("template") or ""), field=f"variants[{i}].template")
        s.add(CampaignVariant(campaign_id=row.id, name=name, template=v["template"], split=v["split"]))  # type: ignore[arg-type]
    if not row.template:
        row.template = str(variants[0]["template"])
    s.flush()


def _unique_slug(s: Session, wanted: str, campaign_id: int | None = None) -> str:
    base = _SLUG.sub("-", str(wanted).lower()).strip("-")[:60] or "campaign"
    slug, n = base, 1
    while True:
        other = s.exec(select(Campaign.id).where(Campaign.slug == slug)).first()
        if other is None or other == campaign_id:
            return slug
        n += 1
        slug = f"{base}-{n}"


def _settings(settings: Any) -> CampaignSettings:
    found = getattr(settings, "campaigns", None)
    return found if isinstance(found, CampaignSettings) else CampaignSettings()
