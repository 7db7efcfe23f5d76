"""The egress gate: which targets a webhook or callback may have, at registration and at connect time."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from gateway.core import egress
from gateway.core.egress import Blocked, EgressPolicy, check_url, endpoint_of, literal_address, reason_for, refusal
from gateway.core.errors import InvalidInput

NONE = EgressPolicy()
PUBLIC = "93.184.215.14"


def no_dns(host: str, port: int) -> list:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize(
    "address, why",
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("100.100.100.200", "not globally routable"),  # Alibaba's metadata, shared address space
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fd00::1", "private"),
        ("fd00:ec2::254", "private"),  # AWS metadata over IPv6
        ("fe80::1", "link-local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "leads to 127.0.0.1, a loopback"),
        ("::ffff:169.254.169.254", "leads to 169.254.169.254, a link-local"),
        ("2002:7f00:1::", "leads to 127.0.0.1, a loopback"),  # 6to4
        ("2002:a9fe:a9fe::1", "leads to 169.254.169.254, a link-local"),
        ("64:ff9b::a9fe:a9fe", "reserved"),  # NAT64
    ],
)
def test_non_public_addresses_are_refused_with_their_class(address: str, why: str) -> None:
    reason = refusal(ipaddress.ip_address(address))
    assert reason is not None and why in reason, reason


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700::1111", "2002:5db8:d70e::1"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_the_operator_allows_networks_and_hosts() -> None:
    policy = EgressPolicy.of(["10.20.0.0/16", "127.0.0.1/32", "fd00:1::/64"], ["Hooks.LAN."])
    assert refusal(ipaddress.ip_address("10.20.3.4"), policy) is None
    assert refusal(ipaddress.ip_address("::ffff:10.20.3.4"), policy) is None
    assert refusal(ipaddress.ip_address("fd00:1::5"), policy) is None
    assert refusal(ipaddress.ip_address("10.21.0.1"), policy) is not None
    assert refusal(ipaddress.ip_address("127.0.0.2"), policy) is not None
    assert policy.allows_host("hooks.lan")
    check_url("http://hooks.lan:8080/x", policy, resolver=lambda h, p: [ipaddress.ip_address("10.9.9.9")])
    check_url("http://10.20.0.7/x", policy)


@pytest.mark.parametrize(
    "host, address",
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("[fd00::1]", "fd00::1"),
        ("example.com", None),
        ("1.example", None),
    ],
)
def test_every_spelling_of_an_address_is_read_as_the_address(host: str, address: str | None) -> None:
    found = literal_address(host)
    assert (str(found) if found else None) == address


@pytest.mark.parametrize(
    "url, words",
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/hook", "private"),
        ("http://[fd00::1]/hook", "private"),
        ("http://2130706433/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://0x7f.1:8080/", "loopback"),
        ("http://localhost:8000/hook", "loopback"),
        ("http://api.localhost/hook", "loopback"),
        ("http://user:pw@example.com/hook", "credentials"),
        ("https://token@example.com/hook", "credentials"),
        ("ftp://example.com/x", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("http:///nohost", "no host"),
        ("http://example.com:99999/", "not a valid URL"),
    ],
)
def test_hostile_urls_are_refused_naming_the_field(url: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_url(url, NONE, field="callback_url", resolver=no_dns)
    assert caught.value.field == "callback_url" and words in str(caught.value), str(caught.value)


def test_a_name_resolving_to_a_private_address_is_refused_and_one_not_resolving_is_taken() -> None:
    inside = lambda host, port: [ipaddress.ip_address(PUBLIC), ipaddress.ip_address("10.1.2.3")]  # noqa: E731
    with pytest.raises(InvalidInput, match=r"resolves to 10\.1\.2\.3 is a private"):
        check_url("https://mixed.example/hook", NONE, resolver=inside)
    assert check_url("https://later.example/hook", NONE, resolver=no_dns) == "https://later.example/hook"
    public = lambda host, port: [ipaddress.ip_address(PUBLIC)]  # noqa: E731
    assert check_url("https://hooks.example/x?y=1", NONE, resolver=public) == "https://hooks.example/x?y=1"


def test_an_endpoint_is_the_receiving_server() -> None:
    assert endpoint_of("https://Hooks.Example/a?b=1") == "https://hooks.example:443"
    assert endpoint_of("http://hooks.example:8080/a") == "http://hooks.example:8080"
    assert endpoint_of("http://[FD00::1]/a") == "http://[fd00::1]:80"


@pytest.mark.parametrize(
    "exc, reason",
    [
        (Blocked("x"), "blocked_address"),
        (TimeoutError(), "timeout"),
        (httpx.ReadTimeout("x"), "timeout"),
        (socket.gaierror(-2, "Name or service not known"), "dns"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "refused"),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "tls"),
        (httpx.RemoteProtocolError("Server disconnected"), "connection"),
    ],
)
def test_failures_are_told_as_coarse_reasons(exc: BaseException, reason: str) -> None:
    assert reason_for(exc) == reason


def test_tls_and_refused_causes_are_read_from_the_chain() -> None:
    for cause, reason in ((ssl.SSLError("bad"), "tls"), (ConnectionRefusedError(111, "x"), "refused")):
        try:
            try:
                raise cause
            except OSError as inner:
                raise httpx.ConnectError("") from inner
        except httpx.ConnectError as exc:
            assert reason_for(exc) == reason


# --- at connect time -----------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[tuple[int, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(dict(self.headers.items()))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], seen
    httpd.shutdown()
    httpd.server_close()


def post(transport: httpx.AsyncBaseTransport, url: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport) as client:
            return await client.post(url, content=b"{}")

    return asyncio.run(go())


def test_a_name_rebound_to_loopback_after_registration_is_refused_at_connect_time(server) -> None:
    port, seen = server
    answers = iter([[ipaddress.ip_address(PUBLIC)], [ipaddress.ip_address("127.0.0.1")]])
    resolver = lambda host, p: next(answers)  # noqa: E731
    url = f"http://rebind.example:{port}/hook"
    check_url(url, NONE, resolver=resolver)  # public at registration

    async def at_connect(host: str, p: int) -> list:
        return resolver(host, p)

    with pytest.raises(Blocked, match=r"resolves to 127\.0\.0\.1 is a loopback"):
        post(egress.PinnedTransport(NONE, resolver=at_connect), url)
    assert seen == []


def test_the_transport_connects_to_the_checked_address_and_keeps_the_host_header(server) -> None:
    port, seen = server
    calls: list[str] = []

    async def resolver(host: str, p: int) -> list:
        calls.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    allowed = EgressPolicy.of(["127.0.0.1/32"])
    response = post(egress.PinnedTransport(allowed, resolver=resolver), f"http://receiver.test:{port}/hook")
    assert response.status_code == 204
    assert calls == ["receiver.test"]  # resolved once, by the gate
    assert seen[0]["Host"] == f"receiver.test:{port}"
    with pytest.raises(Blocked):
        post(egress.PinnedTransport(NONE, resolver=resolver), f"http://receiver.test:{port}/hook")
    with pytest.raises(Blocked):
        post(egress.PinnedTransport(NONE), f"http://2130706433:{port}/hook")
    assert len(seen) == 1


@pytest.fixture
def tls_server(tmp_path) -> Iterator[tuple[int, ssl.SSLContext]]:
    """An HTTPS receiver on 127.0.0.1 whose certificate names only receiver.test."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=receiver.test", "-addext", "subjectAltName=DNS:receiver.test"],
        check=True, capture_output=True,
    )  # fmt: skip

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200 if self.headers["Host"].startswith("receiver.test:") else 400)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    httpd.socket = server_side.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    client_side = ssl.create_default_context(cafile=str(cert))
    yield httpd.server_address[1], client_side
    httpd.shutdown()
    httpd.server_close()


def test_https_to_a_pinned_address_still_checks_the_certificate_against_the_name(tls_server) -> None:
    port, trust = tls_server

    async def loopback(host: str, p: int) -> list:
        return [ipaddress.ip_address("127.0.0.1")]

    allowed = EgressPolicy.of(["127.0.0.1/32"])
    transport = egress.PinnedTransport(allowed, resolver=loopback, verify=trust)
    assert post(transport, f"https://receiver.test:{port}/hook").status_code == 200
    # Another name on the same address: its certificate does not match, so no request is sent.
    with pytest.raises(httpx.ConnectError) as caught:
        post(egress.PinnedTransport(allowed, resolver=loopback, verify=trust), f"https://other.test:{port}/hook")
    assert reason_for(caught.value) == "tls"
