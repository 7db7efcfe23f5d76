"""Outbound HTTP goes only where the operator allows: the one gate for webhooks and callbacks.

Goal: a key holder must not use the gateway to reach what only the gateway can reach (the
cloud metadata service, the database host, the admin port of a router), nor learn which of
those ports are open. The plan:

- At registration, `check_url` refuses what is plainly not a public HTTP endpoint: another
  scheme, credentials in the URL, an address (in any spelling: `2130706433`, `0x7f.1`,
  `[::ffff:127.0.0.1]`) or a name (`localhost`, or one resolving there) that is loopback,
  private, link-local, multicast, reserved, unspecified or otherwise not globally routable.
- At connect time, `PinnedTransport` resolves the name once, checks every address it got,
  and connects to the address it checked (the request keeps its Host header and the TLS
  server name), so a name that answers a public address at registration and 127.0.0.1 a
  minute later (DNS rebinding) still reaches nothing private.
- What a client sees of a failed attempt is a coarse `reason` (`timeout`, `refused`,
  `http_status`, `blocked_address`, `tls`, `dns`, `connection`), never a library's message.

The operator opens private targets (on-prem receivers often live there) with
`[webhooks] allow_networks = ["10.20.0.0/16"]` (CIDRs) or `allow_hosts = ["hooks.lan"]`
(names whose addresses are then trusted, whatever they are).

Address classes come from the stdlib `ipaddress` (its tables follow the IANA special-purpose
registries, RFC 6890), not from a hand-made list; IPv4 carried inside IPv6 (mapped, 6to4,
Teredo) is checked as the IPv4 address it reaches.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

import httpx

from gateway.core.errors import InvalidInput

__all__ = [
    "Address",
    "EgressPolicy",
    "Blocked",
    "Reason",
    "check_url",
    "refusal",
    "endpoint_of",
    "resolve",
    "PinnedTransport",
    "reason_for",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Reason = Literal["timeout", "refused", "http_status", "blocked_address", "tls", "dns", "connection"]
Resolver = Callable[[str, int], Sequence[Address]]

SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Numeric hosts as inet_aton(3) and the WHATWG URL parser read them: 1 to 4 parts, each
# decimal, octal (leading 0) or hex (0x): `2130706433`, `0x7f.1`, `0177.0.0.1`.
_NUMERIC_V4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)


@dataclass(frozen=True)
class EgressPolicy:
    """Which non-public targets the operator allows (`[webhooks]` in the settings)."""

    allow_networks: tuple[Network, ...] = ()
    allow_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, networks: Iterable[Network | str] = (), hosts: Iterable[str] = ()) -> EgressPolicy:
        return cls(
            tuple(ipaddress.ip_network(n) for n in networks),
            frozenset(h.strip().rstrip(".").lower() for h in hosts if h.strip()),
        )

    def allows_host(self, host: str) -> bool:
        return host.rstrip(".").lower() in self.allow_hosts

    def allows_address(self, address: Address) -> bool:
        return any(a in n for a in _faces(address) for n in self.allow_networks if a.version == n.version)


class Blocked(Exception):
    """A target the policy refuses (`why` says which rule, for the operator's log)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def refusal(address: Address, policy: EgressPolicy = EgressPolicy()) -> str | None:
    """Why `address` may not be posted to, or None when it may (pure)."""
    if policy.allows_address(address):
        return None
    faces = _faces(address)
    for face in faces[1:] + faces[:1]:  # the IPv4 address carried inside first: it says more
        for name, flag in (
            ("unspecified", face.is_unspecified),
            ("loopback", face.is_loopback),
            ("link-local", face.is_link_local),  # 169.254.169.254, the metadata service, is here
            ("multicast", face.is_multicast),
            ("private", face.is_private),
            ("reserved", face.is_reserved),
            ("not globally routable", not face.is_global),  # e.g. 100.64.0.0/10, shared address space
        ):
            if flag:
                return (
                    f"{address} is a {name} address"
                    if face == address
                    else f"{address} leads to {face}, a {name} address"
                )
    return None


def check_url(url: str, policy: EgressPolicy, *, field: str = "url", resolver: Resolver | None = None) -> str:
    """`url` if the gateway may post to it, else InvalidInput naming `field`.

    Names are resolved with `resolver` (default: the system's); a name that does not
    resolve now is taken (a receiver may be deployed later) and checked again at each
    attempt. Returns the URL unchanged.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(field, f"not a valid URL ({exc})") from None
    if parts.scheme.lower() not in SCHEMES:
        raise InvalidInput(field, "must be an http:// or https:// URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidInput(field, "must not carry credentials (user:password@); use the signature to authenticate")
    host = parts.hostname
    if not host:
        raise InvalidInput(field, "has no host")
    port = port or _DEFAULT_PORTS[parts.scheme.lower()]
    try:
        _check_host(host, port, policy, resolver or resolve_now)
    except Blocked as exc:
        raise InvalidInput(
            field,
            f"{exc.why}; the gateway posts only to public addresses unless the operator allows "
            "the target ([webhooks] allow_networks or allow_hosts)",
        ) from None
    return url


def endpoint_of(url: str) -> str:
    """The receiving server of `url` (`scheme://host:port`), whatever the path or query."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        port = 0
    return f"{scheme}://{host}:{port}"


def literal_address(host: str) -> Address | None:
    """The address a host written as one stands for (any spelling), else None."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _NUMERIC_V4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            return None
    return None


def resolve_now(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (blocking); socket.gaierror when it does not."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return _addresses(infos)


async def resolve(host: str, port: int) -> list[Address]:
    """`resolve_now` without blocking the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return _addresses(infos)


def pin(host: str, addresses: Sequence[Address], policy: EgressPolicy) -> Address:
    """The address to connect to for `host`: every address must be allowed (a name that
    also answers a private address is not trusted with either); Blocked otherwise."""
    if not addresses:
        raise Blocked(f"{host} has no address")
    if not policy.allows_host(host):
        for address in addresses:
            if (why := refusal(address, policy)) is not None:
                raise Blocked(why if literal_address(host) is not None else f"{host} resolves to {why}")
    return addresses[0]


class PinnedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that connects only to checked addresses (see the module's plan).

    Connections are not kept alive: a kept connection is keyed by address, and would be
    reused for another name with another TLS server name.
    """

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        resolver: Callable[[str, int], Awaitable[Sequence[Address]]] = resolve,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._policy = policy
        self._resolve = resolver
        self._inner = httpx.AsyncHTTPTransport(
            verify=verify, trust_env=False, limits=httpx.Limits(max_keepalive_connections=0)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in SCHEMES:
            raise Blocked(f"scheme {url.scheme!r}")
        if url.userinfo:
            raise Blocked("credentials in the URL")
        host = url.host
        port = url.port or _DEFAULT_PORTS[url.scheme]
        address = literal_address(host)
        addresses = [address] if address is not None else await self._resolve(host, port)
        chosen = pin(host, addresses, self._policy)
        # The Host header was set from the name when the request was built; the TLS
        # server name (and so the certificate check) stays the name too.
        request.url = url.copy_with(host=str(chosen))
        if url.scheme == "https" and address is None:
            request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def reason_for(exc: BaseException) -> Reason:
    """The coarse reason of a failed attempt: all a client is told (pure)."""
    if isinstance(exc, Blocked):
        return "blocked_address"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, httpx.TimeoutException)):
        return "timeout"
    if isinstance(exc, socket.gaierror):
        return "dns"
    causes = list(_causes(exc))
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return "tls"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return "dns"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "refused"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
            return "dns"
        if "ssl" in text or "certificate" in text:
            return "tls"
        return "refused"
    return "connection"


# --- helpers -------------------------------------------------------------------------------


def _check_host(host: str, port: int, policy: EgressPolicy, resolver: Resolver) -> None:
    if policy.allows_host(host):
        return
    address = literal_address(host)
    if address is not None:
        pin(host, [address], policy)
        return
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761 §6.3: always loopback
        raise Blocked(f"{host} is a loopback name")
    try:
        addresses = list(resolver(host, port))
    except (OSError, UnicodeError):
        return  # not resolvable now: checked again at each attempt
    pin(host, addresses, policy)


def _faces(address: Address) -> list[Address]:
    """The address and the IPv4 address it carries, if any (mapped, 6to4, Teredo server)."""
    faces: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        for inner in (address.ipv4_mapped, address.sixtofour, address.teredo[0] if address.teredo else None):
            if inner is not None:
                faces.append(inner)
        if address.teredo:
            faces.append(address.teredo[1])
    return faces


def _addresses(infos: Iterable[tuple]) -> list[Address]:
    out: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in out:
            out.append(address)
    return out


def _causes(exc: BaseException) -> Iterable[BaseException]:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        yield current
        current = current.__cause__ or current.__context__
        seen += 1
