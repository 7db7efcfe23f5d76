"""Marketing: campaign lifecycle, review, expansion, templates, links, compliance, analytics.

The campaign's public surface is re-exported here, so callers write `from gateway import
campaigns` and `campaigns.review(...)` without knowing which module holds what:
`lifecycle` (drafting, schedule, pause / resume / cancel), `proofing` (review, preview,
test send), `expansion` (into the outbox). `templates`, `links`, `compliance` and
`analytics` are modules of their own.
"""

from gateway.campaigns.expansion import VALIDITY, expand, run_due
from gateway.campaigns.lifecycle import (
    WrongState,
    campaigns_page,
    cancel,
    create,
    get,
    pause,
    resume,
    schedule,
    update,
    variants_of,
)
from gateway.campaigns.proofing import Issue, Preview, Review, month_segments, preview, review, test_send
from gateway.core.settings import CampaignSettings

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
