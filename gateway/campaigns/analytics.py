"""Campaign analytics: the funnel per campaign and per variant, and across campaigns.

audience (messages made + numbers skipped as invalid), suppressed by reason, deferred
(still waiting for the send window), sent (handed to the network), delivered, failed,
unique clicks (recipients who clicked, once each), conversions (one per order id),
converters (recipients with a conversion), revenue, opt-outs (STOPs from recipients after
their message was sent), delivery rate = delivered / sent, click-through rate = unique
clicks / delivered, conversion rate = converters / sent. Test sends' clicks and conversions
are never counted. The time series counts sent messages and first clicks per hour (UTC).

An A/B campaign's report adds the test: each variant's figures over the test group (or the
whole audience without a test share) by the campaign's metric, with Wilson intervals, and
the decision (`gateway.campaigns.abtest`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from gateway.campaigns import abtest
from gateway.core.errors import NotFound
from gateway.core.models import (
    Campaign,
    CampaignAssignment,
    CampaignVariant,
    Click,
    ConsentRecord,
    Conversion,
    Message,
)

__all__ = ["campaign_report", "overall_report", "funnel", "test_arms", "compare"]

_SENT = ("sent", "delivered", "failed")


def funnel(s: Session, campaign_ids: list[int] | None) -> dict[int | None, dict[str, Any]]:
    """Counts per variant id (None: no variant) for the given campaigns (None: all)."""
    where = (
        [col(Message.campaign_id).in_(campaign_ids)]
        if campaign_ids is not None
        else [col(Message.campaign_id).is_not(None)]
    )
    rows: dict[int | None, dict[str, Any]] = defaultdict(_empty)
    # Grouped in the order of ix_message_campaign_funnel, so the index is read once, in
    # order, without sorting; the sent ones are counted, not grouped on.
    for variant, status, reason, n, sent in s.execute(
        sa.select(
            col(Message.variant_id),
            col(Message.status),
            col(Message.held_reason),
            sa.func.count(),
            sa.func.count(col(Message.sent_at)),
        )
        .where(*where)
        .group_by(col(Message.variant_id), col(Message.status), col(Message.held_reason))
    ):
        row = rows[variant]
        row["audience"] += n
        if status == "suppressed":
            row["suppressed"][reason or "other"] = row["suppressed"].get(reason or "other", 0) + n
        elif status == "queued" and reason in ("send_window", "paused"):
            row["deferred"] += n
        row["sent"] += sent
        if status == "delivered":
            row["delivered"] += n
        if status == "failed":
            row["failed"] += n
    cw = [col(Click.campaign_id).in_(campaign_ids)] if campaign_ids is not None else []
    for variant, n in s.execute(
        sa.select(col(Click.variant_id), sa.func.count())  # `first`: once per recipient and campaign
        .where(col(Click.first), col(Click.contact_id).is_not(None), ~col(Click.test), *cw)
        .group_by(col(Click.variant_id))
    ):
        rows[variant]["unique_clicks"] += n
    vw = [col(Conversion.campaign_id).in_(campaign_ids)] if campaign_ids is not None else []
    for variant, n, converters, value in s.execute(
        sa.select(
            col(Conversion.variant_id), sa.func.count(), sa.func.count(sa.distinct(col(Conversion.contact_id))),
            sa.func.coalesce(sa.func.sum(col(Conversion.value)), 0.0),
        )
        .where(~col(Conversion.test), *vw)
        .group_by(col(Conversion.variant_id))
    ):  # fmt: skip
        rows[variant]["conversions"] += n
        rows[variant]["converters"] += converters
        rows[variant]["revenue"] += float(value)
    # From the opt-outs (ix_consent_record_opt_out) to the campaign's messages sent before
    # them (ix_message_campaign_recipient), not from every message of the campaign to the
    # ledger: opt-outs are few, messages many. A number's latest opt-out is the one that
    # counts (any opt-out after the send will do).
    opted_out = (
        sa.select(col(ConsentRecord.number), sa.func.max(col(ConsentRecord.recorded_at)).label("last"))
        .where(col(ConsentRecord.kind) == "opt_out")
        .group_by(col(ConsentRecord.number))
        .subquery()
    )
    stops = (
        sa.select(col(Message.variant_id), sa.func.count(sa.distinct(col(Message.recipient))))
        .select_from(opted_out)
        .join(Message, sa.and_(col(Message.recipient) == opted_out.c.number, col(Message.sent_at) <= opted_out.c.last))
        .where(*where, col(Message.sent_at).is_not(None))
        .group_by(col(Message.variant_id))
    )
    for variant, n in s.execute(stops):
        rows[variant]["opt_outs"] += n
    for row in rows.values():
        _rates(row)
    return dict(rows)


def campaign_report(s: Session, campaign_id: int) -> dict[str, Any]:
    """The campaign's funnel in total and per variant, with its hourly series."""
    campaign = s.get_one(Campaign, campaign_id)
    per_variant = funnel(s, [campaign_id])
    total = _sum(per_variant.values())
    total["audience"] += campaign.invalid_numbers
    if campaign.invalid_numbers:
        total["suppressed"]["invalid_number"] = campaign.invalid_numbers
    _rates(total)
    names = {
        v.id: v.name
        for v in s.execute(sa.select(CampaignVariant).where(col(CampaignVariant.campaign_id) == campaign_id)).scalars()
    }
    report = {
        "campaign_id": campaign_id,
        "status": campaign.status,
        **total,
        "variants": [{"variant": names.get(k), **v} for k, v in per_variant.items() if k is not None],
        "series": _series(s, campaign_id),
    }
    if names:
        arms = test_arms(s, campaign_id, campaign.ab_metric)
        report["ab"] = {
            "test_share": campaign.test_share,
            "metric": campaign.ab_metric,
            "wait_minutes": campaign.ab_wait_minutes,
            "phase": campaign.ab_phase,
            "tested_at": campaign.ab_tested_at,
            "winner": names.get(campaign.winner_variant_id) if campaign.winner_variant_id else None,
            "test": "two-sided two-proportion z-test (pooled), leader against runner-up; Wilson 95 % intervals",
            "arms": [abtest.figures(a) for a in arms],
            "decision": campaign.ab_decision,
        }
    return report


def test_arms(s: Session, campaign_id: int, metric: str) -> list[abtest.Arm]:
    """Each variant's test figures by `metric`, in variant order: messages sent to the test
    group (everyone, without a test share), and how many of those recipients clicked,
    converted (test sends left out) or had their message delivered."""
    campaign = s.get_one(Campaign, campaign_id)
    variants = list(
        s.execute(
            sa.select(col(CampaignVariant.id), col(CampaignVariant.name))
            .where(col(CampaignVariant.campaign_id) == campaign_id)
            .order_by(col(CampaignVariant.id))
        ).all()
    )
    where = [col(Message.campaign_id) == campaign_id, col(Message.sent_at).is_not(None)]
    if campaign.test_share is not None:
        in_test = (
            sa.select(col(CampaignAssignment.contact_id))
            .where(col(CampaignAssignment.campaign_id) == campaign_id, col(CampaignAssignment.test))
            .scalar_subquery()
        )
        where.append(col(Message.contact_id).in_(in_test))
    sent = dict(
        s.execute(
            sa.select(col(Message.variant_id), sa.func.count()).where(*where).group_by(col(Message.variant_id))
        ).all()
    )
    recipients = sa.select(col(Message.contact_id)).where(*where)
    if metric == "delivery":
        hits = sa.select(col(Message.variant_id), sa.func.count()).where(*where, col(Message.status) == "delivered")
    elif metric == "conversion":
        hits = sa.select(col(Conversion.variant_id), sa.func.count(sa.distinct(col(Conversion.contact_id)))).where(
            col(Conversion.campaign_id) == campaign_id, ~col(Conversion.test),
            col(Conversion.contact_id).in_(recipients.scalar_subquery()),
        )  # fmt: skip
    else:
        hits = sa.select(col(Click.variant_id), sa.func.count(sa.distinct(col(Click.contact_id)))).where(
            col(Click.campaign_id) == campaign_id, ~col(Click.test),
            col(Click.contact_id).in_(recipients.scalar_subquery()),
        )  # fmt: skip
    column = hits.selected_columns[0]
    successes = dict(s.execute(hits.group_by(column)).all())
    return [abtest.Arm(vid, name, sent.get(vid, 0), successes.get(vid, 0)) for vid, name in variants]


def overall_report(s: Session) -> dict[str, Any]:
    """Every campaign's funnel summed, and one line per campaign."""
    per_campaign = []
    for campaign in s.execute(sa.select(Campaign).order_by(col(Campaign.id))).scalars():
        report = campaign_report(s, campaign.id)
        report.pop("series")
        report.pop("variants")
        per_campaign.append({"name": campaign.name, **report})
    total = _sum(per_campaign)
    _rates(total)
    return {**total, "campaigns": per_campaign}


def compare(s: Session, campaign_ids: list[int]) -> dict[str, Any]:
    """Chosen campaigns side by side: each one's funnel and rates (no series), in the order given."""
    out = []
    for campaign_id in dict.fromkeys(campaign_ids):
        campaign = s.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound("campaign", campaign_id)
        report = campaign_report(s, campaign_id)
        report.pop("series")
        out.append({"name": campaign.name, **report})
    return {"campaigns": out}


def _series(s: Session, campaign_id: int) -> list[dict[str, Any]]:
    """Sends and first clicks per hour, counted by the database (a campaign's rows are
    never all brought into Python)."""
    buckets: dict[str, dict[str, int]] = defaultdict(lambda: {"sent": 0, "clicks": 0})
    dialect = s.get_bind().dialect.name
    sent_hour = _hour_of(col(Message.sent_at), dialect)
    for hour, n in s.execute(
        sa.select(sent_hour, sa.func.count())
        .where(col(Message.campaign_id) == campaign_id, col(Message.sent_at).is_not(None))
        .group_by(sent_hour)
    ):
        buckets[_hour_key(hour)]["sent"] += n
    click_hour = _hour_of(col(Click.clicked_at), dialect)
    for hour, n in s.execute(
        sa.select(click_hour, sa.func.count())
        .where(col(Click.campaign_id) == campaign_id, col(Click.first))
        .group_by(click_hour)
    ):
        buckets[_hour_key(hour)]["clicks"] += n
    return [{"hour": k, **v} for k, v in sorted(buckets.items())]


def _hour_of(column: Any, dialect: str) -> Any:
    """The UTC hour a timestamp falls in, as the database computes it: PostgreSQL truncates
    the timestamptz in UTC; SQLite's stored text ("YYYY-MM-DD HH:MM:SS.ffffff") is UTC wall
    time already, so its first 13 characters are the hour (a cut, cheaper than strftime's
    parse and format of every row)."""
    if dialect == "postgresql":
        return sa.func.date_trunc("hour", sa.func.timezone("UTC", column))
    return sa.func.substr(column, 1, 13)


def _hour_key(hour: str | datetime) -> str:
    if isinstance(hour, str):  # SQLite: "YYYY-MM-DD HH"
        hour = datetime.fromisoformat(hour + ":00:00")
    return hour.replace(tzinfo=UTC).isoformat()


def _empty() -> dict[str, Any]:
    return {"audience": 0, "suppressed": {}, "deferred": 0, "sent": 0, "delivered": 0, "failed": 0,
            "unique_clicks": 0, "conversions": 0, "converters": 0, "revenue": 0.0, "opt_outs": 0}  # fmt: skip


def _sum(rows: Any) -> dict[str, Any]:
    total = _empty()
    for row in rows:
        for key in total:
            if key == "suppressed":
                for reason, n in row["suppressed"].items():
                    total["suppressed"][reason] = total["suppressed"].get(reason, 0) + n
            else:
                total[key] += row[key]
    return total


def _rates(row: dict[str, Any]) -> None:
    row["delivery_rate"] = row["delivered"] / row["sent"] if row["sent"] else None
    row["click_through_rate"] = row["unique_clicks"] / row["delivered"] if row["delivered"] else None
    row["conversion_rate"] = row["converters"] / row["sent"] if row["sent"] else None
    # Wilson 95 % intervals of the rates (None without a denominator)
    row["intervals"] = {
        name: list(interval) if (interval := abtest.wilson(hits, n)) else None
        for name, hits, n in (
            ("delivery_rate", row["delivered"], row["sent"]),
            ("click_through_rate", row["unique_clicks"], row["delivered"]),
            ("conversion_rate", row["converters"], row["sent"]),
        )
    }
