"""Choosing an encoding and splitting text into SMS parts (3GPP TS 23.040 §9.2.3.24.1, 23.038).

Limits per part: a single part holds 160 septets / 140 octets / 70 UCS-2 units; each part of
a concatenated message loses the UDH (6 octets with an 8-bit reference, 7 with a 16-bit one)
and so holds 153 / 67 (8-bit ref) or 152 / 66 (16-bit ref). An escape pair (GSM-7 extension
character) and a surrogate pair (UCS-2 outside the BMP) are never split across parts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

from drivers._exceptions import PduError
from drivers.sms import gsm7

__all__ = [
    "Encoding",
    "EncodingChoice",
    "MAX_PARTS",
    "Estimate",
    "Segments",
    "choose_encoding",
    "split",
    "estimate",
]

Encoding = Literal["gsm7", "ucs2"]
EncodingChoice = Literal["auto", "gsm7", "ucs2"]

MAX_PARTS = 255  # the concatenation IE counts parts in one octet

SINGLE_GSM7 = 160
SINGLE_UCS2_OCTETS = 140
_CONCAT_GSM7 = {False: 153, True: 152}
_CONCAT_UCS2_OCTETS = {False: 134, True: 132}


@dataclass(frozen=True, slots=True)
class Segments:
    """Text encoded and cut into parts: each part's user data payload without UDH.

    For GSM-7 a payload is septets (one per byte, escapes included); for UCS-2 it is
    UTF-16BE octets.
    """

    encoding: Encoding
    payloads: tuple[bytes, ...]

    @property
    def concatenated(self) -> bool:
        return len(self.payloads) > 1


@dataclass(frozen=True, slots=True)
class Estimate:
    encoding: Encoding
    segments: int
    characters: int
    per_segment: int

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of `modemgate pdu estimate`: every field, in this order."""
        return asdict(self)


def choose_encoding(text: str, encoding: EncodingChoice = "auto") -> Encoding:
    """GSM-7 when every character is representable, else UCS-2; a forced choice is checked."""
    if encoding == "ucs2":
        return "ucs2"
    if encoding == "gsm7":
        gsm7.encode(text)  # raises PduError naming the first unrepresentable character
        return "gsm7"
    if encoding != "auto":
        raise PduError(f"unknown encoding {encoding!r}; use auto, gsm7 or ucs2")
    return "gsm7" if gsm7.is_representable(text) else "ucs2"


def split(text: str, encoding: EncodingChoice = "auto", *, ref16: bool = False) -> Segments:
    """Encode `text` and cut it into part payloads. More than 255 parts is a PduError."""
    chosen = choose_encoding(text, encoding)
    if chosen == "gsm7":
        data = gsm7.encode(text)
        if len(data) <= SINGLE_GSM7:
            return Segments("gsm7", (data,))
        payloads = _cut(data, _CONCAT_GSM7[ref16], _ends_inside_escape, 1)
    else:
        data = _utf16(text)
        if len(data) <= SINGLE_UCS2_OCTETS:
            return Segments("ucs2", (data,))
        payloads = _cut(data, _CONCAT_UCS2_OCTETS[ref16], _ends_inside_surrogate_pair, 2)
    if len(payloads) > MAX_PARTS:
        raise PduError(f"text needs {len(payloads)} parts; a concatenated SMS has at most {MAX_PARTS}")
    return Segments(chosen, payloads)


def estimate(text: str, encoding: EncodingChoice = "auto", *, ref16: bool = False) -> Estimate:
    """How many parts `text` takes, without building PDUs."""
    chosen = choose_encoding(text, encoding)
    if chosen == "gsm7":
        length = gsm7.septet_length(text)
        if length <= SINGLE_GSM7:
            return Estimate("gsm7", 1, len(text), SINGLE_GSM7)
        per = _CONCAT_GSM7[ref16]
        if "\x1b" not in text and length == len(text):
            segments = -(-length // per)  # no escapes: nothing can shift a cut
        else:
            segments = len(_cut(gsm7.encode(text), per, _ends_inside_escape, 1))
    else:
        data = _utf16(text)
        if len(data) <= SINGLE_UCS2_OCTETS:
            return Estimate("ucs2", 1, len(text), SINGLE_UCS2_OCTETS // 2)
        per = _CONCAT_UCS2_OCTETS[ref16]
        if len(data) == 2 * len(text):
            segments = -(-len(data) // per)  # BMP only: nothing can shift a cut
        else:
            segments = len(_cut(data, per, _ends_inside_surrogate_pair, 2))
        per //= 2
    if segments > MAX_PARTS:
        raise PduError(f"text needs {segments} parts; a concatenated SMS has at most {MAX_PARTS}")
    return Estimate(chosen, segments, len(text), per)


def _utf16(text: str) -> bytes:
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise PduError(f"character {exc.start} is a lone surrogate (U+{ord(text[exc.start]):04X}), not text") from None


def _cut(data: bytes, size: int, ends_inside: Callable[[bytes, int], bool], unit: int) -> tuple[bytes, ...]:
    """Cut `data` into chunks of at most `size`, backing off one `unit` where a cut
    would separate a pair."""
    parts: list[bytes] = []
    i = 0
    n = len(data)
    while i < n:
        end = min(i + size, n)
        if end < n and ends_inside(data, end):
            end -= unit
        parts.append(data[i:end])
        i = end
    return tuple(parts)


def _ends_inside_escape(data: bytes, end: int) -> bool:
    # An ESC septet is always the first of a pair: no extension code is 0x1B.
    return data[end - 1] == gsm7.ESCAPE


def _ends_inside_surrogate_pair(data: bytes, end: int) -> bool:
    # `end` is even; the last unit is data[end-2:end]. A high surrogate there would be cut
    # from its low surrogate.
    return 0xD8 <= data[end - 2] <= 0xDB
