"""Kannel's `sendsms` interface (`GET|POST /cgi-bin/sendsms`), for applications written for
Kannel: the same parameters and the same answers, in plain text (api.kannel reads them).

`username` is an API key's name and `password` the key itself; the key needs the `send`
scope. Each receiver in `to` becomes one message; a `dlr-url` with a `dlr-mask` is fetched
for the events the mask names (gateway.core.dlr).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api import kannel
from api.deps import GatewayDep, key_row
from gateway.core import apikeys
from gateway.core.models import DlrRequest

router = APIRouter(tags=["kannel"])

_FORM = "application/x-www-form-urlencoded"


@router.api_route("/cgi-bin/sendsms", methods=["GET", "POST"], response_class=Response, include_in_schema=False)
async def sendsms(request: Request, gateway: GatewayDep) -> Response:
    sources = [request.url.query.encode("latin-1")]
    if request.method == "POST" and request.headers.get("content-type", "").split(";")[0].strip() == _FORM:
        sources.append(await request.body())
    wanted = kannel.read(kannel.parse_params(*sources))
    key = await key_row(request, gateway, wanted.password)
    if wanted.username and wanted.username != key.name:
        raise kannel.Refused(*kannel.AUTH_FAILED)
    apikeys.require(key, "send")
    if wanted.dlr_url is not None:
        gateway.check_callback_url(wanted.dlr_url, field="dlr-url")
    numbers = [gateway.recipient(to) for to in wanted.receivers]  # all valid, or none is queued
    options: dict[str, object] = {"encoding": wanted.encoding}
    if wanted.validity is not None:
        options["validity"] = wanted.validity
    if wanted.modem is not None:
        options["modem"] = wanted.modem
    if wanted.message_class is not None:
        options["message_class"] = wanted.message_class
    for number in numbers:
        attach = None
        if wanted.dlr_url is not None:
            attach = _dlr_request(wanted.dlr_url, wanted.dlr_mask, wanted.sender, key.name)
        await run_in_threadpool(
            gateway.submit, api_key_id=key.id, to=number, text=wanted.text, attach=attach, **options
        )
    status, text = kannel.ACCEPTED
    return Response(text, status_code=status, media_type=kannel.CONTENT_TYPE)


def _dlr_request(url: str, mask: int, sender: str, account: str) -> Callable[[str], Iterator[DlrRequest]]:
    def rows(message_id: str) -> Iterator[DlrRequest]:
        yield DlrRequest(message_id=message_id, url=url, mask=mask, sender=sender, account=account)

    return rows
