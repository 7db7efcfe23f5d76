"""A campaign's life: drafting, scheduling, pause / resume / cancel.

    draft ──review──▶ review ──schedule──▶ scheduled ──(due: run_due)──▶ sending ──▶ done
      ▲                 │                      │                          │  ▲
      └──── patch ──────┘                      └──────── pause ───────────┴▶ paused (resume)
    any state before done ──cancel──▶ cancelled

Review (draft → review) is `gateway.campaigns.proofing`; the step into `sending`, and on to
`done`, is `gateway.campaigns.expansion`. A schedule gives each recipient's zone its first
due time (`first_due`): one UTC time, or a wall time in every recipient's own zone.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.audience import contacts
from gateway.campaigns import assignment
from gateway.campaigns.compliance import parse_clock, window_opening
from gateway.campaigns.links import UTM_FIELDS
from gateway.campaigns.templates import DEFAULT_FOOTER, compile_template
from gateway.core import paging
from gateway.core.db import get_or_raise, save
from gateway.core.errors import GatewayError, InvalidInput
from gateway.core.models import AB_METRICS, Campaign, CampaignVariant, Link, Message, Part

__all__ = [
    "WrongState",
    "create",
    "update",
    "get",
    "variants_of",
    "campaigns_page",
    "schedule",
    "pause",
    "resume",
    "cancel",
    "first_due",
    "clone",
    "archive",
    "delete_draft",
    "choose_winner",
]

EARLIEST_OFFSET = timedelta(hours=14)  # UTC+14 (Kiribati): the first zone to reach a local time
_EDITABLE = ("draft", "review")
_SLUG = re.compile(r"[^a-z0-9]+")


class WrongState(GatewayError):
    """The campaign is not in a state that allows this (e.g. patching one that is sending)."""

    code = "conflict"

    def __init__(self, campaign_id: int, status: str, action: str) -> None:
        self.existing_id = campaign_id
        super().__init__(f"campaign {campaign_id} is {status}: cannot {action}")


# --- drafting -----------------------------------------------------------------------------


def create(s: Session, data: Mapping[str, Any], *, api_key_id: int | None, now: datetime) -> Campaign:
    """A draft from API-shaped data (name, template, variants, brand, footer, window_start,
    window_end, frequency_cap, frequency_days, lists, segments, exclude_lists, slug, utm,
    test_share, ab_metric, ab_wait_minutes, transliterate, include_non_mobile). With variants,
    no template is needed."""
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


def clone(s: Session, campaign_id: int, *, api_key_id: int | None, now: datetime, name: str | None = None) -> Campaign:
    """A new draft with the campaign's texts, variants, audience, window, cap and UTM."""
    old = get(s, campaign_id)
    data: dict[str, Any] = {
        key: getattr(old, key)
        for key in ("template", "brand", "footer", "window_start", "window_end", "frequency_cap", "frequency_days",
                    "lists", "segments", "exclude_lists", "utm", "test_share", "ab_metric", "ab_wait_minutes")
    }  # fmt: skip
    data["name"] = name or f"{old.name} (copy)"
    data["variants"] = [
        {"name": v.name, "template": v.template, "weight": v.split} for v in variants_of(s, campaign_id)
    ]
    return create(s, data, api_key_id=api_key_id, now=now)


def archive(s: Session, campaign_id: int, *, now: datetime, archived: bool = True) -> Campaign:
    """Hide a finished (done, cancelled) or draft campaign from the list; its figures stay."""
    row = get(s, campaign_id)
    if row.status not in ("done", "cancelled", "draft", "review"):
        raise WrongState(campaign_id, row.status, "archive it (cancel it or let it finish)")
    row.archived_at = now if archived else None
    return save(s, row, now=now)


def delete_draft(s: Session, campaign_id: int) -> None:
    """Delete a campaign that never sent anything (draft or reviewed)."""
    row = get(s, campaign_id)
    if row.status not in _EDITABLE:
        raise WrongState(campaign_id, row.status, "delete it (only a draft can be deleted; archive it instead)")
    s.execute(sa.delete(Link).where(col(Link.campaign_id) == campaign_id))
    s.delete(row)
    s.flush()


def choose_winner(s: Session, campaign_id: int, variant: str, *, now: datetime) -> Campaign:
    """Pick the variant the rest of a test-share campaign gets, by hand, before the rest is sent."""
    row = get(s, campaign_id)
    if row.test_share is None:
        raise InvalidInput("variant", "the campaign has no test share: every contact gets their own variant")
    if row.ab_phase == "rest" or row.status in ("done", "cancelled"):
        raise WrongState(campaign_id, row.status, "choose a winner (the rest has been sent it already)")
    found = [v for v in variants_of(s, campaign_id) if v.name == variant]
    if not found:
        raise InvalidInput("variant", f"no variant named {variant!r}")
    row.winner_variant_id = found[0].id
    row.ab_decision = {"winner": variant, "winner_id": found[0].id, "manual": True, "decided_at": now.isoformat()}
    return save(s, row, now=now)


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
    elif "template" in changes and not row.template and not variants_of(s, campaign_id):
        raise InvalidInput("template", "missing: give a template or variants")
    if "variants" in changes or "test_share" in changes:
        assignment.forget(s, campaign_id)  # made for other variants or another share
        row.winner_variant_id, row.ab_decision = None, None
    row.status = "draft"
    return save(s, row, now=now)


def get(s: Session, campaign_id: int) -> Campaign:
    return get_or_raise(s, Campaign, campaign_id, "campaign")


def variants_of(s: Session, campaign_id: int) -> list[CampaignVariant]:
    return list(
        s.exec(
            select(CampaignVariant)
            .where(col(CampaignVariant.campaign_id) == campaign_id)
            .order_by(col(CampaignVariant.id))
        )
    )


def campaigns_page(
    s: Session, *, cursor: str | None, limit: int, status: str | None = None, archived: bool = False
) -> paging.Page[Campaign]:
    """Campaigns, newest first, one page from `cursor`; archived ones only when asked."""
    query = select(Campaign)
    if status is not None:
        query = query.where(Campaign.status == status)
    archived_at = col(Campaign.archived_at)
    query = query.where(archived_at.is_not(None) if archived else archived_at.is_(None))
    return paging.query_page(s, query, Campaign.created_at, Campaign.id, cursor=cursor, limit=limit)


# --- schedule and lifecycle ---------------------------------------------------------------


def schedule(
    s: Session,
    campaign_id: int,
    *,
    kind: str,
    now: datetime,
    at: datetime | None = None,
    local_at: datetime | None = None,
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
        row.send_at = max(now, local_at.replace(tzinfo=UTC) - EARLIEST_OFFSET)
    else:
        raise InvalidInput("schedule", "one of now, at, local")
    row.schedule = kind
    row.status = "scheduled"
    return save(s, row, now=now)


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
    row.status = "paused"
    return save(s, row, now=now)


def resume(s: Session, campaign_id: int, *, now: datetime) -> Campaign:
    """Go on: a paused campaign that had started sends again (each zone at its schedule or
    the window's next opening); one paused before it started is scheduled again."""
    row = get(s, campaign_id)
    if row.status != "paused":
        raise WrongState(campaign_id, row.status, "resume it")
    started = s.exec(select(Message.id).where(Message.campaign_id == campaign_id).limit(1)).first() is not None
    row.status = "sending" if started or row.expanded_through else "scheduled"
    due_at = first_due(row, now)
    held = (
        col(Message.campaign_id) == campaign_id,
        col(Message.status) == "queued",
        col(Message.held_reason) == "paused",
    )
    for zone in s.exec(select(Message.time_zone).where(*held).distinct()).all():
        due = due_at(zone or "UTC")
        opening = window_opening(due, zone or "UTC", row.window_start, row.window_end)
        s.execute(
            sa.update(Message)
            .where(*held, col(Message.time_zone) == zone if zone is not None else col(Message.time_zone).is_(None))
            .values(next_attempt_at=opening or due, held_reason="send_window" if opening else None, updated_at=now)
        )
    return save(s, row, now=now)


def cancel(s: Session, campaign_id: int, *, now: datetime) -> Campaign:
    """End a campaign: what is still queued is suppressed (`cancelled`), nothing more goes.

    Those messages end in one statement, without a `message.status` event each."""
    row = get(s, campaign_id)
    if row.status in ("done", "cancelled"):
        raise WrongState(campaign_id, row.status, "cancel it")
    queued = sa.select(col(Message.id)).where(col(Message.campaign_id) == campaign_id, col(Message.status) == "queued")
    s.execute(
        sa.update(Part)
        .where(col(Part.message_id).in_(queued), col(Part.status) == "pending")
        .values(status="cancelled", error="not sent: cancelled")
    )
    s.execute(
        sa.update(Message)
        .where(col(Message.campaign_id) == campaign_id, col(Message.status) == "queued")
        .values(status="suppressed", held_reason="cancelled", last_error="not sent: cancelled", updated_at=now)
    )
    row.status, row.finished_at = "cancelled", now
    return save(s, row, now=now)


def first_due(row: Campaign, now: datetime) -> Callable[[str], datetime]:
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
                cache[zone] = max(now, wall.replace(tzinfo=tz).astimezone(UTC))
            return cache[zone]

        return local
    start = max(now, row.send_at) if row.send_at is not None else now
    return lambda zone: start


# --- helpers ------------------------------------------------------------------------------


def _apply(s: Session, row: Campaign, data: Mapping[str, Any]) -> None:
    """Copy and check the editable fields present in `data`."""
    if "template" in data:
        row.template = str(data["template"] or "")
        if row.template:  # none at all is fine for an A/B campaign (checked with the variants)
            compile_template(row.template)
    if "utm" in data and data["utm"] is not None:
        row.utm = _utm(data["utm"])
    if "test_share" in data:
        share = data["test_share"]
        if share is not None and (not isinstance(share, int) or isinstance(share, bool) or not 1 <= share <= 99):
            raise InvalidInput("test_share", "a whole percentage from 1 to 99 (or none)")
        row.test_share = share
    if data.get("ab_metric") is not None:
        if data["ab_metric"] not in AB_METRICS:
            raise InvalidInput("ab_metric", f"one of {', '.join(AB_METRICS)}")
        row.ab_metric = data["ab_metric"]
    if data.get("ab_wait_minutes") is not None:
        wait = data["ab_wait_minutes"]
        if not isinstance(wait, int) or isinstance(wait, bool) or not 0 <= wait <= 60 * 24 * 30:
            raise InvalidInput("ab_wait_minutes", "whole minutes, 0 to 43200 (30 days)")
        row.ab_wait_minutes = wait
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
    for name in ("transliterate", "include_non_mobile"):
        if name in data and data[name] is not None:
            if not isinstance(data[name], bool):
                raise InvalidInput(name, "true or false")
            setattr(row, name, data[name])


def _set_variants(s: Session, row: Campaign, variants: Sequence[Mapping[str, Any]]) -> None:
    for old in variants_of(s, row.id):  # type: ignore[arg-type]
        s.delete(old)
    s.flush()
    if not variants:
        if not row.template:
            raise InvalidInput("template", "missing: give a template or variants")
        if row.test_share is not None:
            raise InvalidInput("test_share", "a test share needs variants to test")
        return
    if len(variants) < 2:
        raise InvalidInput("variants", "an A/B test has at least two variants (or give none)")
    names = [str(v.get("name") or "").strip() for v in variants]
    if not all(names) or len(set(names)) != len(names):
        raise InvalidInput("variants", "each variant needs its own name")
    weights: list[Any] = [v.get("weight") if v.get("weight") is not None else v.get("split") for v in variants]
    if not all(isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 1000 for x in weights):
        raise InvalidInput("variants", "each variant needs a weight, a whole number from 1 to 1000")
    for i, (v, name, weight) in enumerate(zip(variants, names, weights, strict=True)):
        compile_template(str(v.get("template") or ""), field=f"variants[{i}].template")
        s.add(CampaignVariant(campaign_id=row.id, name=name, template=v["template"], split=weight))  # type: ignore[arg-type]
    s.flush()


def _utm(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidInput("utm", "an object of source, medium, campaign, content, term")
    unknown = set(value) - set(UTM_FIELDS)
    if unknown:
        raise InvalidInput("utm", f"unknown fields {sorted(unknown)}: {', '.join(UTM_FIELDS)}")
    out = {}
    for key, v in value.items():
        if v is None:
            continue
        text = str(v).strip()
        if len(text) > 100:
            raise InvalidInput(f"utm.{key}", "at most 100 characters")
        if text:
            out[key] = text
    return out


def _unique_slug(s: Session, wanted: str, campaign_id: int | None = None) -> str:
    base = _SLUG.sub("-", str(wanted).lower()).strip("-")[:60] or "campaign"
    slug, n = base, 1
    while True:
        other = s.exec(select(Campaign.id).where(Campaign.slug == slug)).first()
        if other is None or other == campaign_id:
            return slug
        n += 1
        slug = f"{base}-{n}"
