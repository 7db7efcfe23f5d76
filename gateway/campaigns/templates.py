"""Campaign texts: tokens, links, brand prefix, opt-out footer, and what a text will cost.

A template is text with tokens and URLs:

    {{first_name|there}}     the contact's first name, else "there" (the default after `|`)
    {{last_name}}            no default: empty when missing (review warns about it)
    {{number}}               the contact's E.164 number
    {{city|your town}}       a custom field (`fields.city` works too)
    https://shop.example/x   replaced by the recipient's own short link `{public_url}/r/{code}`

The final text is `"{brand}: "` + the rendered template + `"\\n" + footer`. The brand is
not prefixed when the text already starts with it, and the footer ("Reply STOP to opt out"
by default) is not added when the text already says it (compared without case): never twice.

Segment estimates count the short link (its exact length), never the long URL: a URL
costs what the recipient will receive. Templates are compiled once per campaign and
rendered per recipient by joining pieces, which keeps expansion of a million rows cheap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from drivers.sms import Estimate, PduError, estimate
from gateway.core.errors import InvalidInput

__all__ = [
    "Token",
    "Template",
    "CODE_LENGTH",
    "DEFAULT_FOOTER",
    "compile_template",
    "compose",
    "short_link",
    "estimate_text",
    "contact_values",
]

CODE_LENGTH = 10  # characters of a short-link code (gateway.links)
DEFAULT_FOOTER = "Reply STOP to opt out"
MAX_TEMPLATE = 1_600  # ten concatenated GSM-7 parts: beyond that a "text" is a letter

_TOKEN = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]{0,70})\s*(?:\|([^{}]*))?\}\}")
_URL = re.compile(r"https?://[^\s<>\"'{}]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]'"  # punctuation that ends a sentence, not the URL


@dataclass(frozen=True)
class Token:
    name: str  # first_name, last_name, number, or a custom field's name
    default: str | None


@dataclass(frozen=True)
class Template:
    """A compiled template: literal text, tokens and URLs in order."""

    source: str
    pieces: tuple[str | Token | int, ...]  # int: index into `urls`
    urls: tuple[str, ...]

    @property
    def tokens(self) -> tuple[Token, ...]:
        return tuple(p for p in self.pieces if isinstance(p, Token))

    def render(self, values: Mapping[str, Any], links: Sequence[str] = ()) -> str:
        """The text for one recipient; `links[i]` replaces the i-th URL (the URL itself if not given)."""
        out: list[str] = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
            elif isinstance(piece, Token):
                value = values.get(piece.name)
                out.append(_text(value) if value not in (None, "") else (piece.default or ""))
            else:
                out.append(links[piece] if piece < len(links) else self.urls[piece])
        return "".join(out)

    def missing(self, values: Mapping[str, Any]) -> list[str]:
        """Tokens without a default that this recipient has no value for."""
        return [t.name for t in self.tokens if t.default is None and values.get(t.name) in (None, "")]


def compile_template(source: str, *, field: str = "template") -> Template:
    """Parse a template; InvalidInput for an empty one, a brace that opens no token, or one too long."""
    if not source or not source.strip():
        raise InvalidInput(field, "empty")
    if len(source) > MAX_TEMPLATE:
        raise InvalidInput(field, f"at most {MAX_TEMPLATE} characters")
    pieces: list[str | Token | int] = []
    urls: list[str] = []
    position = 0
    for match in _TOKEN.finditer(source):
        _literal(source[position : match.start()], pieces, urls, field)
        name = match.group(1)
        if name.startswith("fields."):
            name = name[len("fields.") :]
        if not name or "." in name:
            raise InvalidInput(field, f"{match.group(0)!r}: a token is a field name, e.g. {{{{first_name|there}}}}")
        default = match.group(2)
        pieces.append(Token(name, default.strip() if default is not None else None))
        position = match.end()
    _literal(source[position:], pieces, urls, field)
    return Template(source, tuple(pieces), tuple(urls))


def compose(body: str, *, brand: str | None, footer: str | None) -> str:
    """Brand prefix and opt-out footer around a rendered text, each at most once."""
    text = body.strip()
    if brand and not text.casefold().startswith(brand.casefold()):
        text = f"{brand}: {text}"
    if footer and footer.casefold() not in text.casefold():
        text = f"{text}\n{footer}"
    return text


def short_link(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/r/{code}"


def estimate_text(text: str) -> Estimate:
    """Encoding and parts of a final text; InvalidInput when it cannot be sent at all."""
    try:
        return estimate(text)
    except PduError as exc:
        raise InvalidInput("template", str(exc)) from None


def contact_values(
    number: str, first_name: str | None, last_name: str | None, fields: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What tokens can name for one contact (built-in fields win over custom ones)."""
    values = dict(fields or {})
    values.update(first_name=first_name, last_name=last_name, number=number)
    return values


# --- helpers ------------------------------------------------------------------------------


def _literal(text: str, pieces: list[str | Token | int], urls: list[str], field: str) -> None:
    if "{{" in text or "}}" in text:
        raise InvalidInput(field, f"unbalanced braces near {text[:40]!r}: a token is {{{{name|default}}}}")
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        if match.start() > position:
            pieces.append(text[position : match.start()])
        pieces.append(len(urls))
        urls.append(url)
        position = end
    if position < len(text):
        pieces.append(text[position:])


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
