"""Short-link redirects (open, no key) and conversions.

`GET /r/{code}` answers 302 to the target stored with the code, with the click's id added
(`?mg_click=…`, `[campaigns] click_id_parameter`), and records the click (once per client
and link within `[campaigns] click_window_minutes`); an unknown code is a 404 JSON error.
Nothing in the request can choose where it redirects.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse

from api.campaign_schemas import ConversionIn, ConversionOut
from api.deps import ApiRoute, GatewayDep, MarketingKey, run_write
from gateway.campaigns import links

router = APIRouter(route_class=ApiRoute, tags=["links"])


@router.get(
    "/r/{code}",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "To the stored target"}, 404: {}},
)
def follow(code: Annotated[str, Path(max_length=64)], gateway: GatewayDep, request: Request) -> RedirectResponse:
    client = links.client_key(request.client.host if request.client else "", request.headers.get("user-agent", ""))
    window = timedelta(minutes=gateway.settings.campaigns.click_window_minutes)
    parameter = gateway.settings.campaigns.click_id_parameter
    target = run_write(
        gateway, links.follow, code, now=gateway.clock.now(), client=client, window=window, parameter=parameter
    )
    return RedirectResponse(
        target, status_code=302, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


@router.post("/v1/conversions", status_code=201, response_model=ConversionOut, responses={404: {}, 409: {}, 422: {}})
def add_conversion(body: ConversionIn, key: MarketingKey, gateway: GatewayDep, response: Response) -> ConversionOut:
    """Attribute an order by the `click_id` the landing page got, a link `code`, or
    `contact_id` + `campaign_id`; `value` is revenue. One `order_id` is one conversion:
    posting it again answers the same conversion (`Idempotent-Replayed: true`) and counts
    nothing twice; posting it with other details is a 409."""
    row, new = run_write(
        gateway, links.record_conversion, order_id=body.order_id, click_id=body.click_id, code=body.code,
        contact_id=body.contact_id, campaign_id=body.campaign_id, value=body.value, currency=body.currency,
        now=gateway.clock.now(),
    )  # fmt: skip
    if not new:
        response.headers["Idempotent-Replayed"] = "true"
    return ConversionOut.model_validate(row, from_attributes=True)
