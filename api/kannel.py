"""Kannel's `sendsms` interface, read: the request's parameters into one `SendSms`, or a
`Refused` with Kannel's answer. Pure: the router does the I/O.

Parameters come URL-encoded in the query string (GET) or in a form body (POST), with
Kannel's names and their aliases. The text's bytes are decoded with `charset` (Kannel's
default is UTF-16BE with `coding=2`); without `charset`, valid UTF-8 is read as UTF-8 and
anything else as ISO-8859-1. docs/deployment.md lists every parameter and what it does here.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl

from drivers.sms import EncodingChoice

__all__ = [
    "ACCEPTED",
    "AUTH_FAILED",
    "TRY_LATER",
    "CONTENT_TYPE",
    "MAX_RECEIVERS",
    "Refused",
    "SendSms",
    "parse_params",
    "read",
]

# Kannel's answers (its smsbox): the status and the text a client looks for.
ACCEPTED = (202, "0: Accepted for delivery")
AUTH_FAILED = (403, "Authorization failed for sendsms")
TRY_LATER = (503, "Temporal failure, try again later.")
CONTENT_TYPE = "text/html"  # what Kannel's answers carry
MAX_RECEIVERS = 100

_ALIASES = {"user": "username", "pass": "password", "dlrurl": "dlr-url", "dlrmask": "dlr-mask"}
# Kannel parameters that change the PDU in ways the gateway does not send: refused, not ignored.
_UNSUPPORTED = ("udh", "mwi", "pid", "alt-dcs", "rpi", "deferred", "binfo", "compress")


class Refused(Exception):
    """A request Kannel would refuse, with its answer."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass(frozen=True)
class SendSms:
    username: str
    password: str
    receivers: tuple[str, ...]
    text: str
    sender: str
    encoding: EncodingChoice
    validity: timedelta | None
    modem: str | None
    dlr_url: str | None
    dlr_mask: int
    message_class: int | None = None  # the DCS message class (TS 23.038 §4); 0: flash


def parse_params(*sources: bytes) -> dict[str, bytes]:
    """URL-encoded `sources` (query string, form body) as raw bytes per parameter, names
    folded to Kannel's main spelling; a later source's value wins."""
    params: dict[str, bytes] = {}
    for raw in sources:
        for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
            params[_ALIASES.get(name, name)] = value.encode("latin-1")
    return params


def read(params: dict[str, bytes]) -> SendSms:
    """The request, or Refused with Kannel's status and text."""
    username, password = _word(params, "username"), _word(params, "password")
    if not password:
        raise Refused(*AUTH_FAILED)
    receivers = tuple(_word(params, "to").split())
    if not receivers:
        raise Refused(400, "Missing receiver number")
    if len(receivers) > MAX_RECEIVERS:
        raise Refused(400, f"Too many receivers: at most {MAX_RECEIVERS} per request")
    for name in _UNSUPPORTED:
        if _word(params, name):
            raise Refused(400, f"Parameter {name} is not supported by this gateway")
    coding = _number(params, "coding", 0, 2, default=0)
    if coding == 1:
        raise Refused(400, "coding=1 (8-bit data) is not supported by this gateway; use 0 (text) or 2 (UCS-2)")
    text = _text(params.get("text", b""), _word(params, "charset"), coding)
    if not text.strip():
        raise Refused(400, "Missing text")
    validity = _number(params, "validity", 1, 7 * 24 * 60, default=None)
    message_class = _number(params, "mclass", 0, 3, default=None)
    if message_class is None and _word(params, "flash") not in ("", "0"):
        message_class = 0  # Kannel's older `flash=1`: class 0, shown at once and not stored
    mask = _number(params, "dlr-mask", 0, 63, default=0)
    dlr_url = _word(params, "dlr-url") or None
    if mask and dlr_url is None:  # as in Kannel, a URL without a mask asks for nothing
        raise Refused(400, "dlr-mask given without dlr-url")
    return SendSms(
        username=username,
        password=password,
        receivers=receivers,
        text=text,
        sender=_word(params, "from"),
        encoding="ucs2" if coding == 2 else "auto",
        validity=None if validity is None else timedelta(minutes=validity),
        modem=_word(params, "smsc") or None,
        dlr_url=dlr_url if mask else None,
        dlr_mask=mask or 0,
        message_class=message_class,
    )


def _word(params: dict[str, bytes], name: str) -> str:
    raw = params.get(name, b"")
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return raw.decode("latin-1").strip()


def _number(params: dict[str, bytes], name: str, low: int, high: int, *, default: int | None) -> int | None:
    value = _word(params, name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise Refused(400, f"Invalid {name}: {value[:20]!r} is not a number") from None
    if not low <= number <= high:
        raise Refused(400, f"Invalid {name}: {number} is outside {low}..{high}")
    return number


def _text(raw: bytes, charset: str, coding: int | None) -> str:
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            raise Refused(400, f"Invalid charset {charset[:40]!r}") from None
        try:
            return raw.decode(charset)
        except UnicodeDecodeError:
            raise Refused(400, f"Text is not valid {charset}") from None
    if coding == 2:
        try:
            return raw.decode("utf-16-be")
        except UnicodeDecodeError:
            raise Refused(400, "Text is not valid UTF-16BE (coding=2 without charset)") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("iso-8859-1")
