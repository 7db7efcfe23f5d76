"""Campaigns: create with the template editor (A/B variants, a live preview of the unsaved
text for a chosen contact), per-contact preview, review, test send, schedule, pause/resume/cancel, progress refreshed in place, and the funnel and hourly
series as inline SVG."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.charts import funnel_bars, series_lines
from api.console.web import ConsoleRoute, Viewer, check_csrf, gateway_of, render, require
from api.deps import RowId
from api.routers.campaigns import campaign_settings
from gateway import campaigns
from gateway.audience import contacts
from gateway.campaigns import analytics
from gateway.core.db import session
from gateway.core.errors import InvalidInput
from gateway.core.runtime import Gateway

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PREVIEWS = 3
PREVIEW_CHOICES = 20  # contacts offered in the editor's live preview
Csrf = Annotated[str | None, Form(max_length=100)]


@router.get("/campaigns")
async def campaign_list(
    request: Request, signed: Viewer, cursor: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    gateway = gateway_of(request)

    def read() -> Any:
        with session(gateway.engine) as s:
            return campaigns.campaigns_page(s, cursor=cursor, limit=50)

    page = await run_in_threadpool(read)
    return render(request, "campaigns.html", campaigns=page.items, next_cursor=page.next_cursor)


@router.get("/campaigns/new")
async def new_campaign(request: Request, signed: Viewer) -> Response:
    gateway = gateway_of(request)

    def read() -> Any:
        with session(gateway.engine) as s:
            lists = [(x, contacts.list_size(s, x.id)) for x in contacts.all_lists(s)]  # type: ignore[arg-type]
            people = contacts.contacts_page(s, cursor=None, limit=PREVIEW_CHOICES).items
            return lists, people, contacts.all_segments(s)

    defaults = gateway.settings.campaigns
    lists, people, segments = await run_in_threadpool(read)
    return render(request, "campaign_new.html", lists=lists, people=people, segments=segments, defaults=defaults)


@router.post("/campaigns/preview")
async def live_preview(
    request: Request,
    signed: Viewer,
    csrf: Csrf = None,
    template: Annotated[str, Form(max_length=1600)] = "",
    brand: Annotated[str, Form(max_length=40)] = "",
    footer: Annotated[str, Form(max_length=100)] = "",
    contact: Annotated[int | None, Form()] = None,
) -> Response:
    """The editor's text as one contact would get it, saved nowhere (the editor's script
    posts here as one types)."""
    check_csrf(signed, csrf)
    require(signed, "marketing")
    if contact is None:
        return render(request, "_draft_preview.html", preview=None)
    gateway = gateway_of(request)

    def read() -> Any:
        with session(gateway.engine) as s:
            return campaigns.draft_preview(
                s, template, contact, brand=brand, footer=footer, public_url=gateway.settings.public_url,
                link_domains=campaign_settings(gateway).link_domains, sms=gateway.settings.sms,
                consent_settings=gateway.settings.consent,
            )  # fmt: skip

    return render(request, "_draft_preview.html", preview=await run_in_threadpool(read))


@router.post("/campaigns")
async def create_campaign(
    request: Request,
    signed: Viewer,
    csrf: Csrf = None,
    name: Annotated[str, Form(max_length=100)] = "",
    template: Annotated[str, Form(max_length=1600)] = "",
    brand: Annotated[str, Form(max_length=40)] = "",
    footer: Annotated[str, Form(max_length=100)] = "",
    window_start: Annotated[str, Form(max_length=5)] = "",
    window_end: Annotated[str, Form(max_length=5)] = "",
    lists: Annotated[list[int] | None, Form()] = None,
    segments: Annotated[list[int] | None, Form()] = None,
    exclude_lists: Annotated[list[int] | None, Form()] = None,
    variant_name: Annotated[list[str] | None, Form(max_length=40)] = None,
    variant_template: Annotated[list[str] | None, Form(max_length=1600)] = None,
    variant_weight: Annotated[list[str] | None, Form(max_length=10)] = None,
    test_share: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    gateway = gateway_of(request)
    defaults = gateway.settings.campaigns
    data: dict[str, Any] = {
        "name": name,
        "template": template,
        "brand": brand.strip() or None,
        "footer": footer.strip() or None,
        "window_start": window_start or defaults.window_start,
        "window_end": window_end or defaults.window_end,
        "frequency_cap": defaults.frequency_cap,
        "frequency_days": defaults.frequency_days,
        "lists": lists or [],
        "segments": segments or [],
        "exclude_lists": exclude_lists or [],
        "variants": _variants(variant_name or [], variant_template or [], variant_weight or []),
        "test_share": _whole(test_share, "test_share"),
    }
    row = await run_in_threadpool(_write, gateway, campaigns.create, data, api_key_id=None, now=gateway.clock.now())
    return RedirectResponse(f"/campaigns/{row.id}", status_code=303)


@router.get("/campaigns/{campaign_id}")
async def campaign_page(request: Request, campaign_id: RowId, signed: Viewer) -> Response:
    view = await run_in_threadpool(_view, gateway_of(request), campaign_id)
    return render(request, "campaign.html", review=None, tested=None, **view)


@router.get("/campaigns/{campaign_id}/progress")
async def campaign_progress(request: Request, campaign_id: RowId, signed: Viewer) -> Response:
    view = await run_in_threadpool(_report, gateway_of(request), campaign_id)
    return render(request, "_campaign_progress.html", **view)


@router.post("/campaigns/{campaign_id}/review")
async def review(request: Request, campaign_id: RowId, signed: Viewer, csrf: Csrf = None) -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    gateway = gateway_of(request)
    result = await run_in_threadpool(
        _write, gateway, campaigns.review, campaign_id, public_url=gateway.settings.public_url,
        now=gateway.clock.now(), settings=campaign_settings(gateway), resolver=request.app.state.resolver,
        sms=gateway.settings.sms, consent_settings=gateway.settings.consent,
    )  # fmt: skip
    view = await run_in_threadpool(_view, gateway, campaign_id)
    return render(request, "campaign.html", review=asdict(result), tested=None, **view)


@router.post("/campaigns/{campaign_id}/test")
async def test_send(
    request: Request,
    campaign_id: RowId,
    signed: Viewer,
    csrf: Csrf = None,
    numbers: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    gateway = gateway_of(request)
    wanted = [n.strip() for n in numbers.replace(";", ",").split(",") if n.strip()]
    if not wanted:
        raise InvalidInput("numbers", "one to five numbers, separated by commas")
    sent = await run_in_threadpool(
        _write, gateway, campaigns.test_send, campaign_id, wanted, region=gateway.settings.default_region,
        public_url=gateway.settings.public_url, api_key_id=None, now=gateway.clock.now(),
        link_domains=campaign_settings(gateway).link_domains, sms=gateway.settings.sms,
    )  # fmt: skip
    gateway.wake()
    view = await run_in_threadpool(_view, gateway, campaign_id)
    return render(request, "campaign.html", review=None, tested=sent, **view)


@router.post("/campaigns/{campaign_id}/schedule")
async def schedule(
    request: Request,
    campaign_id: RowId,
    signed: Viewer,
    csrf: Csrf = None,
    kind: Annotated[str, Form(max_length=10)] = "now",
    when: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    gateway = gateway_of(request)
    at = local_at = None
    if kind in ("at", "local"):
        try:
            parsed = datetime.fromisoformat(when)
        except ValueError:
            raise InvalidInput("when", "a date and time, e.g. 2026-12-01T10:00") from None
        if kind == "at":
            at = parsed if parsed.tzinfo else parsed.astimezone()  # the browser's wall time: this server's zone
        else:
            local_at = parsed.replace(tzinfo=None)
    await run_in_threadpool(
        _write, gateway, campaigns.schedule, campaign_id, kind=kind, at=at, local_at=local_at, now=gateway.clock.now()
    )
    gateway.wake_campaigns()
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.post("/campaigns/{campaign_id}/{action}")
async def change_state(
    request: Request, campaign_id: RowId, action: str, signed: Viewer, csrf: Csrf = None
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "marketing")
    gateway = gateway_of(request)
    steps = {"pause": campaigns.pause, "resume": campaigns.resume, "cancel": campaigns.cancel}
    if action not in steps:
        raise InvalidInput("action", "one of pause, resume, cancel")
    await run_in_threadpool(_write, gateway, steps[action], campaign_id, now=gateway.clock.now())
    if action == "resume":
        gateway.wake()
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


def _variants(names: list[str], texts: list[str], weights: list[str]) -> list[dict[str, Any]]:
    """The editor's variant rows that have a text (a blank row is unused); their names,
    weights and count are checked below, as the API's are."""
    rows = []
    for i, text in enumerate(texts):
        if text.strip():
            name = names[i] if i < len(names) else ""
            weight = _whole(weights[i] if i < len(weights) else "", "variants")
            weight = 1 if weight is None else weight
            rows.append({"name": name, "template": text, "weight": weight})
    return rows


def _whole(text: str, field: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(field, "a whole number") from None


def _write(gateway: Gateway, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    def work() -> Any:
        with session(gateway.engine, write=True) as s:
            result = fn(s, *args, **kwargs)
            s.commit()
            return result

    return gateway.writes.now(work)


def _view(gateway: Gateway, campaign_id: int) -> dict[str, Any]:
    with session(gateway.engine) as s:
        row = campaigns.get(s, campaign_id)
        ids: list[int] = []
        if row.lists or row.segments:
            query = contacts.audience(s, lists=row.lists, segments=row.segments, exclude_lists=row.exclude_lists)
            ids = list(s.exec(query.limit(PREVIEWS)))
        previews = [
            campaigns.preview(
                s, campaign_id, i, public_url=gateway.settings.public_url,
                link_domains=campaign_settings(gateway).link_domains, sms=gateway.settings.sms,
                consent_settings=gateway.settings.consent,
            )
            for i in ids
        ]  # fmt: skip
        lists = {x.id: x.name for x in contacts.all_lists(s)}
        variants = campaigns.variants_of(s, campaign_id)
        segment_names = {x.id: x.name for x in contacts.all_segments(s)}
    return {
        "campaign": row, "previews": previews, "list_names": lists, "variants": variants,
        "segment_names": segment_names,
        **_report(gateway, campaign_id),
    }  # fmt: skip


def _report(gateway: Gateway, campaign_id: int) -> dict[str, Any]:
    with session(gateway.engine) as s:
        row = campaigns.get(s, campaign_id)
        report = analytics.campaign_report(s, campaign_id)
    lines, hours = series_lines(report["series"])
    return {"campaign": row, "report": report, "bars": funnel_bars(report), "lines": lines, "hours": hours}
