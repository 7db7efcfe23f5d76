"""Messages: the list with filters and cursor paging, one message with its parts, reports
and attempts (its status refreshed in place), and the send form with its live counter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.web import ConsoleRoute, Viewer, check_csrf, gateway_of, render, require
from drivers import PduError
from drivers.sms import economics, gsm7, segments
from gateway.core import outbox, overview, reports
from gateway.core.db import session
from gateway.core.errors import InvalidInput
from gateway.core.models import MESSAGE_STATUSES
from gateway.core.numbers import normalise_number
from gateway.core.runtime import Gateway

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PAGE = 50


@router.get("/messages")
async def message_list(
    request: Request,
    signed: Viewer,
    status: Annotated[str, Query(max_length=20)] = "",
    modem: Annotated[str, Query(max_length=32)] = "",
    campaign: Annotated[str, Query(max_length=12)] = "",
    number: Annotated[str, Query(max_length=32)] = "",
    day: Annotated[str, Query(max_length=10)] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    gateway = gateway_of(request)
    filters = {"status": status, "modem": modem, "campaign": campaign, "number": number, "day": day}
    f = _filter(gateway, filters)

    def read() -> Any:
        with session(gateway.engine) as s:
            return overview.browse_messages(s, f, cursor=cursor or None, limit=PAGE)

    page = await run_in_threadpool(read)
    return render(
        request,
        "messages.html",
        messages=page.items,
        next_cursor=page.next_cursor,
        filters=filters,
        statuses=MESSAGE_STATUSES,
        modems=list(gateway.workers),
    )


@router.get("/messages/send")
async def send_form(request: Request, signed: Viewer, to: Annotated[str, Query(max_length=32)] = "") -> Response:
    return render(request, "send.html", to=to, modems=list(gateway_of(request).workers))


@router.post("/messages/send")
async def send(
    request: Request,
    signed: Viewer,
    csrf: Annotated[str | None, Form(max_length=100)] = None,
    to: Annotated[str, Form(max_length=32)] = "",
    text: Annotated[str, Form(max_length=10_000)] = "",
    modem: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    check_csrf(signed, csrf)
    require(signed, "send")
    if not text.strip():
        raise InvalidInput("text", "empty: an SMS needs text")
    gateway = gateway_of(request)
    submitted = await run_in_threadpool(
        gateway.submit, api_key_id=None, to=to, text=text, modem=modem or None, category="transactional"
    )
    return RedirectResponse(f"/messages/{submitted.message.id}", status_code=303)


@router.get("/messages/estimate")
async def estimate(request: Request, signed: Viewer, text: Annotated[str, Query(max_length=10_000)] = "") -> Response:
    sms = gateway_of(request).settings.sms
    return render(
        request, "_estimate.html", **count_text(text, languages=sms.languages, transliterate=sms.transliterate)
    )


@router.get("/messages/{message_id}")
async def message_detail(request: Request, message_id: str, signed: Viewer) -> Response:
    view = await run_in_threadpool(_detail, gateway_of(request), message_id)
    return render(request, "message.html", **view)


@router.get("/messages/{message_id}/status")
async def message_status(request: Request, message_id: str, signed: Viewer) -> Response:
    view = await run_in_threadpool(_detail, gateway_of(request), message_id)
    return render(request, "_message_status.html", **view)


def count_text(text: str, *, languages: Sequence[str] = (), transliterate: bool = False) -> dict[str, Any]:
    """Encoding, parts and characters of `text` as it would be sent (the `[sms]` national
    tables and transliteration applied), and the characters that force UCS-2."""
    try:
        sent = economics.plan(text, languages=languages, transliterate=transliterate).text
        est = segments.estimate(sent, languages=languages)
    except PduError as exc:
        forcing = sorted({c for c in text if not gsm7.is_representable(c)}, key=text.index)
        return {"error": str(exc), "forcing": forcing, "estimate": None}
    forcing = (
        [] if est.encoding == "gsm7" else sorted({c for c in sent if not gsm7.is_representable(c)}, key=sent.index)
    )
    return {"error": None, "forcing": [(c, f"U+{ord(c):04X}") for c in forcing], "estimate": est}


def _detail(gateway: Gateway, message_id: str) -> dict[str, Any]:
    with session(gateway.engine) as s:
        message = outbox.get_message(s, message_id)
        return {
            "message": message,
            "parts": outbox.message_parts(s, message_id),
            "attempts": outbox.message_attempts(s, message_id),
            "reports": reports.reports_of_message(s, message_id),
        }


def _filter(gateway: Gateway, raw: dict[str, str]) -> overview.MessageFilter:
    status = raw["status"] or None
    if status is not None and status not in MESSAGE_STATUSES:
        raise InvalidInput("status", f"one of {', '.join(MESSAGE_STATUSES)}")
    campaign = None
    if raw["campaign"]:
        if not raw["campaign"].isdigit():
            raise InvalidInput("campaign", "a campaign number")
        campaign = int(raw["campaign"])
    recipient = (
        normalise_number(raw["number"], gateway.settings.default_region, field="number") if raw["number"] else None
    )
    since = until = None
    if raw["day"]:
        try:
            day = date.fromisoformat(raw["day"])
        except ValueError:
            raise InvalidInput("day", "a date, YYYY-MM-DD") from None
        since = datetime.combine(day, time(0), tzinfo=UTC)
        until = since + timedelta(days=1)
    return overview.MessageFilter(
        status=status, modem=raw["modem"] or None, campaign_id=campaign, recipient=recipient, since=since, until=until
    )
