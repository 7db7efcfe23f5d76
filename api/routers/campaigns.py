"""Campaigns: create, edit, review, preview, test send, schedule, pause, resume, cancel, analytics.

Campaigns belong to the gateway (like the audience): every key sees them. Expansion into
the outbox happens in the gateway's periodic step (`gateway.campaigns.run_due`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from api.campaign_schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    CloneIn,
    RecipientOut,
    RecipientPage,
    ReviewOut,
    ScheduleIn,
    TestSendIn,
    TestSendOut,
    WinnerIn,
)
from api.deps import ApiRoute, Cursor, GatewayDep, Limit, MarketingKey, RowId, run_write
from api.schemas import Page
from gateway import campaigns
from gateway.campaigns import CampaignSettings, analytics, recipients
from gateway.core.db import session
from gateway.core.models import Campaign
from gateway.core.runtime import Gateway

router = APIRouter(route_class=ApiRoute, tags=["campaigns"])


def campaign_settings(gateway: Gateway) -> CampaignSettings:
    found = getattr(gateway.settings, "campaigns", None)
    return found if isinstance(found, CampaignSettings) else CampaignSettings()


def campaign_out(s: Session, row: Campaign) -> CampaignOut:
    assert row.id is not None  # a stored row
    variants = [
        {"id": v.id, "name": v.name, "template": v.template, "split": v.split} for v in campaigns.variants_of(s, row.id)
    ]
    return CampaignOut(**row.model_dump(), variants=variants)


def _read(gateway: Gateway, campaign_id: int) -> CampaignOut:
    with session(gateway.engine) as s:
        return campaign_out(s, campaigns.get(s, campaign_id))


@router.post("/v1/campaigns", status_code=201, response_model=CampaignOut, responses={404: {}, 422: {}})
def create_campaign(body: CampaignIn, key: MarketingKey, gateway: GatewayDep) -> CampaignOut:
    """A draft. Review it, then schedule it."""
    data = body.model_dump()
    defaults = gateway.settings.campaigns
    for name in ("window_start", "window_end", "frequency_cap", "frequency_days"):
        if data[name] is None:  # not given: the account's defaults
            data[name] = getattr(defaults, name)
    row = run_write(gateway, campaigns.create, data, api_key_id=key.id, now=gateway.clock.now())
    return _read(gateway, row.id)  # type: ignore[arg-type]


@router.get("/v1/campaigns", response_model=Page, responses={422: {}})
def list_campaigns(
    key: MarketingKey,
    gateway: GatewayDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    archived: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page:
    """Campaigns, newest first; the archived ones (and only them) with `archived=true`."""
    with session(gateway.engine) as s:
        page = campaigns.campaigns_page(s, cursor=cursor, limit=limit, status=status, archived=archived)
        return Page(items=[campaign_out(s, r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/v1/campaigns/analytics", response_model=dict[str, Any])
def all_analytics(key: MarketingKey, gateway: GatewayDep) -> dict[str, Any]:
    """The funnel summed over every campaign, and one line per campaign."""
    with session(gateway.engine) as s:
        return analytics.overall_report(s)


@router.get("/v1/campaigns/compare", response_model=dict[str, Any], responses={404: {}, 422: {}})
def compare_campaigns(
    key: MarketingKey,
    gateway: GatewayDep,
    ids: Annotated[list[int], Query(min_length=1, max_length=20, description="Campaign ids, e.g. ids=1&ids=2.")],
) -> dict[str, Any]:
    """The chosen campaigns' funnels and rates side by side, in the order given."""
    with session(gateway.engine) as s:
        return analytics.compare(s, ids)


@router.get("/v1/campaigns/{campaign_id}", response_model=CampaignOut, responses={404: {}})
def get_campaign(campaign_id: RowId, key: MarketingKey, gateway: GatewayDep) -> CampaignOut:
    return _read(gateway, campaign_id)


@router.patch("/v1/campaigns/{campaign_id}", response_model=CampaignOut, responses={404: {}, 409: {}, 422: {}})
def patch_campaign(campaign_id: RowId, body: CampaignPatch, key: MarketingKey, gateway: GatewayDep) -> CampaignOut:
    """Change a draft or reviewed campaign (it goes back to draft)."""
    changes = body.model_dump(exclude_unset=True)
    run_write(gateway, campaigns.update, campaign_id, changes, now=gateway.clock.now())
    return _read(gateway, campaign_id)


@router.post("/v1/campaigns/{campaign_id}/review", response_model=ReviewOut, responses={404: {}})
def review_campaign(campaign_id: RowId, key: MarketingKey, gateway: GatewayDep, request: Request) -> ReviewOut:
    """Errors (which block scheduling) and warnings against the audience as it is now."""
    result = run_write(
        gateway, campaigns.review, campaign_id, public_url=gateway.settings.public_url,
        now=gateway.clock.now(), settings=campaign_settings(gateway), resolver=request.app.state.resolver,
        sms=gateway.settings.sms, consent_settings=gateway.settings.consent,
    )  # fmt: skip
    status = _read(gateway, campaign_id).status
    return ReviewOut(status=status, **asdict(result))


@router.get(
    "/v1/campaigns/{campaign_id}/preview/{contact_id}", response_model=campaigns.Preview, responses={404: {}, 422: {}}
)
def preview_campaign(
    campaign_id: RowId, contact_id: RowId, key: MarketingKey, gateway: GatewayDep
) -> campaigns.Preview:
    with session(gateway.engine) as s:
        return campaigns.preview(
            s, campaign_id, contact_id, public_url=gateway.settings.public_url,
            link_domains=campaign_settings(gateway).link_domains, sms=gateway.settings.sms,
            consent_settings=gateway.settings.consent,
        )  # fmt: skip


@router.post(
    "/v1/campaigns/{campaign_id}/test", status_code=202, response_model=TestSendOut, responses={404: {}, 422: {}}
)
def test_send(campaign_id: RowId, body: TestSendIn, key: MarketingKey, gateway: GatewayDep) -> TestSendOut:
    """Send the text now to up to five numbers (as transactional: a proof for the team)."""
    sent = run_write(
        gateway, campaigns.test_send, campaign_id, body.numbers, region=gateway.settings.default_region,
        public_url=gateway.settings.public_url, api_key_id=key.id, now=gateway.clock.now(), contact_id=body.contact_id,
        variant=body.variant, link_domains=campaign_settings(gateway).link_domains, sms=gateway.settings.sms,
    )  # fmt: skip
    gateway.wake()
    return TestSendOut(message_ids=[m.id for m in sent])


@router.post("/v1/campaigns/{campaign_id}/schedule", response_model=CampaignOut, responses={404: {}, 409: {}, 422: {}})
def schedule_campaign(campaign_id: RowId, body: ScheduleIn, key: MarketingKey, gateway: GatewayDep) -> CampaignOut:
    run_write(
        gateway,
        campaigns.schedule,
        campaign_id,
        kind=body.kind,
        at=body.at,
        local_at=body.local_at,
        now=gateway.clock.now(),
    )
    answer = _read(gateway, campaign_id)  # as scheduled: the loop woken next may start it at once
    gateway.wake_campaigns()  # a campaign due now starts at once, not at the next poll
    return answer


@router.post("/v1/campaigns/{campaign_id}/pause", response_model=CampaignOut, responses={404: {}, 409: {}})
def pause_campaign(campaign_id: RowId, key: MarketingKey, gateway: GatewayDep) -> CampaignOut:
    run_write(gateway, campaigns.pause, campaign_id, now=gateway.clock.now())
    return _read(gateway, campaign_id)


@router.post("/v1/campaigns/{campaign_id}/resume", response_model=CampaignOut, responses={404: {}, 409: {}})
def resume_campaign(campaign_id: RowId, key: MarketingKey, gateway: GatewayDep) -> CampaignOut:
    run_write(gateway, campaigns.resume, campaign_id, now=gateway.clock.now())
    gateway.wake()
    return _read(gateway, campaign_id)


@router.post("/v1/campaigns/{campaign_id}/cancel", response_model=CampaignOut, responses={404: {}, 409: {}})
def cancel_campaign(campaign_id: RowId, key: MarketingKey, gateway: GatewayDep) -> CampaignOut:
    run_write(gateway, campaigns.cancel, campaign_id, now=gateway.clock.now())
    return _read(gateway, campaign_id)


@router.get("/v1/campaigns/{campaign_id}/analytics", response_model=dict[str, Any], responses={404: {}})
def campaign_analytics(campaign_id: RowId, key: MarketingKey, gateway: GatewayDep) -> dict[str, Any]:
    """Audience, suppressed by reason, sent, delivered, failed, unique clicks, conversions,
    revenue, opt-outs, delivery rate, click-through rate; per variant; hourly series."""
    with session(gateway.engine) as s:
        campaigns.get(s, campaign_id)
        return analytics.campaign_report(s, campaign_id)


@router.post("/v1/campaigns/{campaign_id}/winner", response_model=CampaignOut, responses={404: {}, 409: {}, 422: {}})
def choose_winner(campaign_id: RowId, body: WinnerIn, key: MarketingKey, gateway: GatewayDep) -> CampaignOut:
    """Choose the variant the rest of a test-share campaign gets, overriding the test."""
    run_write(gateway, campaigns.choose_winner, campaign_id, body.variant, now=gateway.clock.now())
    gateway.wake_campaigns()
    return _read(gateway, campaign_id)


@router.post("/v1/campaigns/{campaign_id}/clone", status_code=201, response_model=CampaignOut, responses={404: {}})
def clone_campaign(campaign_id: RowId, body: CloneIn, key: MarketingKey, gateway: GatewayDep) -> CampaignOut:
    """A new draft with this campaign's texts, variants, audience and rules."""
    row = run_write(gateway, campaigns.clone, campaign_id, api_key_id=key.id, now=gateway.clock.now(), name=body.name)
    return _read(gateway, row.id)  # type: ignore[arg-type]


@router.post("/v1/campaigns/{campaign_id}/archive", response_model=CampaignOut, responses={404: {}, 409: {}})
def archive_campaign(campaign_id: RowId, key: MarketingKey, gateway: GatewayDep) -> CampaignOut:
    """Hide a draft, done or cancelled campaign from the list (its figures stay)."""
    run_write(gateway, campaigns.archive, campaign_id, now=gateway.clock.now())
    return _read(gateway, campaign_id)


@router.post("/v1/campaigns/{campaign_id}/unarchive", response_model=CampaignOut, responses={404: {}, 409: {}})
def unarchive_campaign(campaign_id: RowId, key: MarketingKey, gateway: GatewayDep) -> CampaignOut:
    run_write(gateway, campaigns.archive, campaign_id, now=gateway.clock.now(), archived=False)
    return _read(gateway, campaign_id)


@router.delete("/v1/campaigns/{campaign_id}", status_code=204, responses={404: {}, 409: {}})
def delete_campaign(campaign_id: RowId, key: MarketingKey, gateway: GatewayDep) -> Response:
    """Delete a draft (or reviewed) campaign; one that has sent is archived instead."""
    run_write(gateway, campaigns.delete_draft, campaign_id)
    return Response(status_code=204)


_State = Annotated[str, Query(max_length=20, description="all, sent, not_sent, undelivered, clicked, converted")]


@router.get("/v1/campaigns/{campaign_id}/recipients", response_model=RecipientPage, responses={404: {}, 422: {}})
def campaign_recipients(
    campaign_id: RowId, key: MarketingKey, gateway: GatewayDep, state: _State = "all", limit: Limit = 50,
    cursor: Cursor = None,
) -> RecipientPage:  # fmt: skip
    """One row per message, newest first: its state, why it was not sent (and until when it
    waits), its clicks, conversions and revenue."""
    with session(gateway.engine) as s:
        page = recipients.recipients_page(s, campaign_id, state=state, cursor=cursor, limit=limit)
    return RecipientPage(
        items=[RecipientOut.model_validate(asdict(r)) for r in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/v1/campaigns/{campaign_id}/recipients.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, 404: {}, 422: {}},
)
def campaign_recipients_csv(
    campaign_id: RowId, key: MarketingKey, gateway: GatewayDep, state: _State = "all"
) -> StreamingResponse:
    """The same rows as CSV, every page of them."""
    with session(gateway.engine) as s:
        recipients.recipients_page(s, campaign_id, state=state, cursor=None, limit=1)  # 404 / 422 before streaming

    def lines() -> Any:
        with session(gateway.engine) as s:
            yield from recipients.csv_lines(recipients.every(s, campaign_id, state=state))

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}-{state}.csv"'},
    )
