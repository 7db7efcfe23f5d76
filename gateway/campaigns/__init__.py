"""Marketing: campaign lifecycle, review, expansion, templates, links, compliance, analytics.

The campaign's public surface is re-exported here, so callers write `from gateway import
campaigns` and `campaigns.review(...)` without knowing which module holds what:
`lifecycle` (drafting, schedule, pause / resume / cancel, clone, archive, the A/B winner by
hand), `proofing` (review, preview, test send), `expansion` (into the outbox, and the A/B
winner after the wait). `abtest` (the pure A/B decisions), `assignment`, `templates`,
`links`, `compliance`, `analytics` and `recipients` are modules of their own.
"""

from gateway.campaigns.expansion import VALIDITY, decide_winners, expand, run_due
from gateway.campaigns.lifecycle import (
    WrongState,
    archive,
    campaigns_page,
    cancel,
    choose_winner,
    clone,
    create,
    delete_draft,
    get,
    pause,
    resume,
    schedule,
    update,
    variants_of,
)
from gateway.campaigns.proofing import (
    Issue,
    Preview,
    Review,
    draft_preview,
    month_segments,
    preview,
    review,
    test_send,
)
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
    "draft_preview",
    "test_send",
    "schedule",
    "pause",
    "resume",
    "cancel",
    "expand",
    "run_due",
    "decide_winners",
    "clone",
    "archive",
    "delete_draft",
    "choose_winner",
    "month_segments",
    "VALIDITY",
]
