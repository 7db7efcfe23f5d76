"""Tracked links: per-recipient short codes, UTM parameters, clicks and conversions.

Attribution. Every recorded click gets a click id, appended to the landing URL as
`?mg_click=<id>` (`[campaigns] click_id_parameter`), so the shop can hand it back with the
order: `record_conversion` takes that click id (or the link's code, or contact + campaign)
and an order id, and one order id is one conversion — posting it again answers the same
conversion and counts nothing twice. A test send's links, their clicks and conversions are
flagged `test` and left out of every campaign figure.

Each recipient gets their own code per URL of a campaign's template, so a click says who
clicked. The redirect goes only to the target stored with the code: there is no way to
make `/r/...` send anyone to a URL given in the request (no open redirect). Every visit is
redirected, but one client (a keyed hash of its IP address and user agent, never the
address) is recorded once per link within the click window, so a crawler or a redirect
loop cannot grow the click table without bound. `first` marks a recipient's first click
in the campaign, and unique clicks are counted by recipient, so clicking twice (or two
links) counts once.

Short links live under the settings' `public_url`; `unreachable` says when that address
would not open on a recipient's phone (loopback, unspecified, or a name that does not
resolve), which review reports as an error before anything is sent.

Codes are 10 base-62 characters from the OS's random source (~59 bits): not guessable,
and a collision among a million codes is about a one-in-a-million event (the insert
would fail on the unique index and the batch be retried with new codes).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.campaigns.templates import CODE_LENGTH
from gateway.core.egress import Address, literal_address
from gateway.core.errors import GatewayError, InvalidInput, NotFound
from gateway.core.models import Campaign, Click, Conversion, Link, Message

__all__ = [
    "new_code",
    "new_codes",
    "with_utm",
    "follow",
    "client_key",
    "record_conversion",
    "is_code",
    "unreachable",
    "Resolver",
    "CLICK_WINDOW",
    "CLICK_PARAMETER",
    "OrderConflict",
    "utm_parameters",
    "with_click_id",
]

Resolver = Callable[[str, int], Sequence[Address]]
"""Every address of a host (e.g. `gateway.core.egress.resolve_now`); OSError when it has none."""

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
UTM_FIELDS = ("source", "medium", "campaign", "content", "term")
_UTM = tuple(f"utm_{name}" for name in UTM_FIELDS)
CLICK_PARAMETER = "mg_click"  # `[campaigns] click_id_parameter`
CLICK_WINDOW = timedelta(minutes=10)  # `[campaigns] click_window_minutes`
# The key of client hashes: random per process, never stored, so a stored hash cannot be
# matched to an address by hashing every IPv4 address. (A restart starts a new window.)
_CLIENT_KEY = os.urandom(32)


def new_code() -> str:
    return new_codes(1)[0]


def new_codes(count: int) -> list[str]:
    """`count` random codes (one read of the OS's random source)."""
    raw = os.urandom(8 * count)
    codes = []
    for i in range(count):
        n = int.from_bytes(raw[8 * i : 8 * i + 8], "big")
        chars = []
        for _ in range(CODE_LENGTH):
            n, digit = divmod(n, 62)
            chars.append(_ALPHABET[digit])
        codes.append("".join(chars))
    return codes


def is_code(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(c in _ALPHABET for c in code)


def unreachable(public_url: str, resolver: Resolver) -> tuple[str, str] | None:
    """Why short links under `public_url` would not open on a recipient's phone, as
    (severity, reason), or None when they would: an `error` for a loopback or unspecified
    address or a name that does not resolve, a `warning` for another non-public address
    (a private network that a phone on the mobile network does not reach)."""
    parts = urlsplit(public_url)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "error", f"public_url {public_url!r} has no host"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "error", f"public_url {public_url!r} has no valid port"
    address = literal_address(host)
    if address is not None:
        addresses: Sequence[Address] = [address]
    elif host == "localhost" or host.endswith(".localhost"):  # RFC 6761 §6.3: always loopback
        return "error", f"{host} is this machine (loopback)"
    else:
        try:
            addresses = resolver(host, port)
        except OSError:
            addresses = []
        if not addresses:
            return "error", f"{host} does not resolve to an address"
    for a in addresses:
        face = _carried(a)
        if face.is_loopback:
            return "error", f"{host} is this machine (loopback {a})"
        if face.is_unspecified:
            return "error", f"{host} is the unspecified address {a}, not one a phone can open"
    for a in addresses:
        face = _carried(a)
        if not face.is_global:
            return "warning", f"{host} is a non-public address ({a}): phones on the mobile network cannot reach it"
    return None


class OrderConflict(GatewayError):
    """The order id was already posted as a conversion with other details."""

    code = "conflict"

    def __init__(self, order_id: str, conversion_id: int) -> None:
        self.order_id = order_id
        self.existing_id = conversion_id
        super().__init__(f"order {order_id!r} is conversion {conversion_id}, posted with other details")


def utm_parameters(utm: Mapping[str, Any] | None, *, campaign: str, variant: str | None) -> list[tuple[str, str]]:
    """The campaign's UTM parameters in order; a field not set takes its default: source
    and medium `sms`, campaign the campaign's slug, content the variant's name, no term."""
    given = {k: str(v).strip() for k, v in (utm or {}).items() if v is not None and str(v).strip()}
    defaults = {"source": "sms", "medium": "sms", "campaign": campaign, "content": variant or ""}
    out = []
    for name in UTM_FIELDS:
        value = given.get(name) or defaults.get(name) or ""
        if value:
            out.append((f"utm_{name}", value))
    return out


def with_utm(url: str, *, campaign: str, variant: str | None, utm: Mapping[str, Any] | None = None) -> str:
    """`url` with the campaign's UTM parameters (`utm_parameters`), replacing any given."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _UTM]
    query += utm_parameters(utm, campaign=campaign, variant=variant)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment))


def with_click_id(url: str, click_id: str, parameter: str = CLICK_PARAMETER) -> str:
    """The landing URL with the click id the shop gives back with a conversion."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != parameter]
    query.append((parameter, click_id))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment))


def client_key(address: str, user_agent: str) -> str:
    """Who clicked, as far as deduplication needs: a keyed hash of the client's IP address
    and user agent (the address itself is never stored)."""
    message = f"{address}\n{user_agent}".encode("utf-8", "replace")
    return hmac.new(_CLIENT_KEY, message, hashlib.sha256).hexdigest()[:32]


def follow(
    s: Session,
    code: str,
    *,
    now: datetime,
    client: str | None = None,
    window: timedelta = CLICK_WINDOW,
    parameter: str = CLICK_PARAMETER,
) -> str:
    """Record a click on `code` and return its stored target with the click id appended
    (`parameter`); NotFound for an unknown code.

    A visit by `client` (`client_key`) to a link it visited less than `window` ago is not
    recorded again: it gets the same click id as that visit."""
    link = s.exec(select(Link).where(Link.code == code)).first() if is_code(code) else None
    if link is None:
        raise NotFound("link", code)
    if client is not None and window > timedelta(0):
        recent = s.exec(
            select(Click.click_id)
            .where(Click.link_id == link.id, Click.client == client, col(Click.clicked_at) > now - window)
            .order_by(col(Click.clicked_at).desc())
            .limit(1)
        ).first()
        if recent is not None:
            return with_click_id(link.target, recent, parameter)
    first = False
    if link.contact_id is not None and link.campaign_id is not None and not link.test:
        earlier = s.exec(
            select(Click.id)
            .where(Click.campaign_id == link.campaign_id, Click.contact_id == link.contact_id, ~col(Click.test))
            .limit(1)
        ).first()
        first = earlier is None
    click_id = new_code()
    s.add(
        Click(
            link_id=link.id,  # type: ignore[arg-type]
            campaign_id=link.campaign_id,
            variant_id=link.variant_id,
            contact_id=link.contact_id,
            message_id=link.message_id,
            first=first,
            client=client,
            click_id=click_id,
            test=link.test,
            clicked_at=now,
        )
    )
    s.flush()
    return with_click_id(link.target, click_id, parameter)


def record_conversion(
    s: Session,
    *,
    now: datetime,
    order_id: str | None = None,
    click_id: str | None = None,
    code: str | None = None,
    contact_id: int | None = None,
    campaign_id: int | None = None,
    value: float | None = None,
    currency: str | None = None,
) -> tuple[Conversion, bool]:
    """Attribute a conversion — by the click id the landing page got, by a link code, or by
    contact + campaign (the contact must have been sent the campaign) — and return it with
    whether it is new. The same `order_id` again returns the conversion already stored
    (OrderConflict when posted with other details)."""
    if value is not None and (value != value or abs(value) == float("inf")):
        raise InvalidInput("value", "must be a finite number")
    if currency is not None and not (len(currency) == 3 and currency.isalpha()):
        raise InvalidInput("currency", "an ISO 4217 code, e.g. EUR")
    currency = currency.upper() if currency else None
    if order_id is not None:
        order_id = order_id.strip()
        if not order_id:
            raise InvalidInput("order_id", "empty")
        existing = s.exec(select(Conversion).where(Conversion.order_id == order_id)).first()
        if existing is not None:
            asked = (click_id, code, contact_id, campaign_id, value, currency)
            if not _same_order(s, existing, asked):
                raise OrderConflict(order_id, existing.id)  # type: ignore[arg-type]
            return existing, False
    if click_id is not None:
        click = s.exec(select(Click).where(Click.click_id == click_id)).first() if is_code(click_id) else None
        link = s.get(Link, click.link_id) if click is not None else None
        if click is None or link is None or link.campaign_id is None:
            raise NotFound("click", click_id)
        row = _from_link(link, now, value, click_id=click_id)
    elif code is not None:
        link = s.exec(select(Link).where(Link.code == code)).first() if is_code(code) else None
        if link is None or link.campaign_id is None:
            raise NotFound("link", code)
        row = _from_link(link, now, value)
    elif contact_id is not None and campaign_id is not None:
        if s.get(Campaign, campaign_id) is None:
            raise NotFound("campaign", campaign_id)
        sent = s.execute(
            sa.select(col(Message.variant_id), col(Message.id))
            .where(col(Message.campaign_id) == campaign_id, col(Message.contact_id) == contact_id)
            .limit(1)
        ).first()
        if sent is None:
            raise NotFound("campaign recipient", f"contact {contact_id} in campaign {campaign_id}")
        row = Conversion(
            campaign_id=campaign_id, variant_id=sent[0], contact_id=contact_id, message_id=sent[1],
            value=value, occurred_at=now,
        )  # fmt: skip
    else:
        raise InvalidInput("click_id", "give a click id, a link code, or contact_id and campaign_id")
    row.order_id, row.currency = order_id, currency
    s.add(row)
    s.flush()
    return row, True


def _from_link(link: Link, now: datetime, value: float | None, *, click_id: str | None = None) -> Conversion:
    assert link.campaign_id is not None  # the callers checked it
    return Conversion(
        campaign_id=link.campaign_id, variant_id=link.variant_id, contact_id=link.contact_id, link_id=link.id,
        message_id=link.message_id, click_id=click_id, test=link.test, value=value, occurred_at=now,
    )  # fmt: skip


def _same_order(s: Session, existing: Conversion, asked: tuple[Any, ...]) -> bool:
    """Whether a repeated order names the same attribution and amount as the stored one."""
    click_id, code, contact_id, campaign_id, value, currency = asked
    if value != existing.value or (currency or None) != existing.currency:
        return False
    if click_id is not None:
        return click_id == existing.click_id
    if code is not None:
        link = s.get(Link, existing.link_id) if existing.link_id is not None else None
        return link is not None and link.code == code
    return (contact_id, campaign_id) == (existing.contact_id, existing.campaign_id)


def _carried(address: Address) -> Address:
    """The IPv4 address an IPv4-mapped IPv6 one (`::ffff:127.0.0.1`) stands for, else itself."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
