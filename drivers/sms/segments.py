"""Choosing an encoding and splitting text into SMS parts (3GPP TS 23.040 §9.2.3.24.1, 23.038).

Limits per part: a single part holds 160 septets / 140 octets / 70 UCS-2 units; each part of
a concatenated message loses the UDH (6 octets with an 8-bit reference, 7 with a 16-bit one)
and so holds 153 / 67 (8-bit ref) or 152 / 66 (16-bit ref). An escape pair (GSM-7 extension
character) and a surrogate pair (UCS-2 outside the BMP) are never split across parts.

National shift tables (23.038 Annex A) are used only for the languages the caller lists:
each allowed alphabet is tried and the one giving the fewest parts wins, counting its
national language IEs (3 octets each, in every part's header) against the septets it saves;
for equal counts the default alphabet, then the fewest IEs, wins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Literal

from drivers._exceptions import PduError
from drivers.sms import gsm7
from drivers.sms.alphabets import DEFAULT, Alphabet, candidates
from drivers.sms.udh import InformationElement

__all__ = [
    "Encoding",
    "EncodingChoice",
    "MAX_PARTS",
    "Estimate",
    "Segments",
    "choose_encoding",
    "split",
    "estimate",
    "gsm7_capacity",
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
    alphabet: Alphabet = DEFAULT  # the GSM-7 tables used (default unless languages allowed)

    @property
    def concatenated(self) -> bool:
        return len(self.payloads) > 1

    @property
    def header_ies(self) -> tuple[InformationElement, ...]:
        """IEs every part carries besides concatenation: the national language ones."""
        if self.encoding != "gsm7" or self.alphabet.is_default:
            return ()
        return self.alphabet.ies()


@dataclass(frozen=True, slots=True)
class Estimate:
    encoding: Encoding
    segments: int
    characters: int
    per_segment: int
    locking: str | None = None  # national locking shift table used (ISO 639-1), if any
    single: str | None = None  # national single shift table used, if any

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of `modemgate pdu estimate`: every field, in this order (the
        national table fields only when a table is used)."""
        out = asdict(self)
        for key in ("locking", "single"):
            if out[key] is None:
                del out[key]
        return out


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


def split(
    text: str, encoding: EncodingChoice = "auto", *, ref16: bool = False, languages: Sequence[str] = ()
) -> Segments:
    """Encode `text` and cut it into part payloads. More than 255 parts is a PduError.

    `languages` (ISO 639-1 codes) are the national shift tables the recipient's handset is
    trusted to read; with none, only the default alphabet is used.
    """
    if languages and encoding != "ucs2":
        return _split_national(text, encoding, ref16, languages)
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


def estimate(
    text: str, encoding: EncodingChoice = "auto", *, ref16: bool = False, languages: Sequence[str] = ()
) -> Estimate:
    """How many parts `text` takes, without building PDUs."""
    if languages and encoding != "ucs2":
        segs = _split_national(text, encoding, ref16, languages)
        lock, single = segs.alphabet.languages
        if segs.encoding == "ucs2":
            per = SINGLE_UCS2_OCTETS // 2 if len(segs.payloads) == 1 else _CONCAT_UCS2_OCTETS[ref16] // 2
        else:
            per = gsm7_capacity(len(segs.header_ies), len(segs.payloads) > 1, ref16)
        return Estimate(segs.encoding, len(segs.payloads), len(text), per, lock, single)
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


def gsm7_capacity(national_ies: int, concatenated: bool, ref16: bool = False) -> int:
    """Septets one GSM-7 part holds after its header (23.040 §9.2.3.24: the header, padded to
    a septet boundary, comes out of the 160). Each national language IE takes 3 octets."""
    octets = 3 * national_ies + ((7 if ref16 else 6) if concatenated else (1 if national_ies else 0))
    return SINGLE_GSM7 - (octets * 8 + 6) // 7


def _split_national(text: str, encoding: EncodingChoice, ref16: bool, languages: Sequence[str]) -> Segments:
    if encoding not in ("auto", "gsm7"):
        raise PduError(f"unknown encoding {encoding!r}; use auto, gsm7 or ucs2")
    alphas = candidates(languages)
    chars = frozenset(text)
    if DEFAULT.characters.issuperset(chars):
        # Without extension characters the default alphabet spends one septet a character and
        # no IE: nothing does better. With them, only a locking table that holds one of them
        # as a single septet can: a single shift table alone keeps the default costs and adds
        # an IE.
        extension = chars & _EXTENSION_CHARS
        if not extension:
            return split(text, encoding, ref16=ref16)
        alphas = tuple(a for a in alphas if a.is_default or (a.locking and extension & a.single_septet))
    elif not _reach(alphas).issuperset(chars):
        if encoding == "gsm7":
            allowed = ", ".join(languages)
            bad = next(ch for ch in text if not any(a.covers(ch) for a in alphas))
            raise PduError(f"character {bad!r} (U+{ord(bad):04X}) has no GSM 7-bit code, even in the {allowed} tables")
        return split(text, "ucs2", ref16=ref16)
    best: Segments | None = None
    for alpha in alphas:
        # A table cannot take fewer septets than there are characters: skip one whose best
        # case is no better than what is already found.
        if best is not None and _parts_for(len(text), alpha.ie_count, ref16) >= len(best.payloads):
            continue
        if not alpha.characters.issuperset(chars):
            continue
        segs = _cut_gsm7(alpha.septets(text), alpha, ref16)
        if best is None or len(segs.payloads) < len(best.payloads):
            best = segs
    if best is None:  # every character has a table, but no one table has them all
        if encoding == "gsm7":
            raise PduError(f"no one of the {', '.join(languages)} tables holds every character of the text")
        return split(text, "ucs2", ref16=ref16)
    # GSM-7 never takes more parts than UCS-2: at worst every character is an escape pair,
    # 73 characters a part after two IEs and concatenation, against UCS-2's 67.
    if len(best.payloads) > MAX_PARTS:
        raise PduError(f"text needs {len(best.payloads)} parts; a concatenated SMS has at most {MAX_PARTS}")
    return best


_EXTENSION_CHARS = frozenset(gsm7.EXTENSION_TABLE.values())


@lru_cache(maxsize=64)
def _reach(alphas: tuple[Alphabet, ...]) -> frozenset[str]:
    """Every character at least one of `alphas` can send."""
    return frozenset().union(*(a.characters for a in alphas))


def _parts_for(septets: int, national_ies: int, ref16: bool) -> int:
    if septets <= gsm7_capacity(national_ies, False):
        return 1
    return -(-septets // gsm7_capacity(national_ies, True, ref16))


def _cut_gsm7(data: bytes, alpha: Alphabet, ref16: bool) -> Segments:
    n_ies = alpha.ie_count
    if len(data) <= gsm7_capacity(n_ies, False):
        return Segments("gsm7", (data,), alpha)
    return Segments("gsm7", _cut(data, gsm7_capacity(n_ies, True, ref16), _ends_inside_escape, 1), alpha)


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
