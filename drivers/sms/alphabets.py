"""GSM-7 alphabets: the default one, or a national locking shift table paired with a single
shift table (3GPP TS 23.038 §6.2.1.2.4, Annex A; 3GPP TS 23.040 §9.2.3.24.15/16).

An `Alphabet` is a pair of National Language Identifiers, (locking, single); 0 on either
side means the default alphabet / the default extension table. The default pair (0, 0)
delegates to `gsm7`, whose fast path stays untouched; national pairs go through one
translation table per pair, built once.

Decoding follows what 23.038 asks of a receiver: ESC + a code the single shift table leaves
undefined shows the locking table's character for that code, ESC ESC and a lone ESC at the
end show a space, and a language the spec does not define (0, 14 and up) reads as the
default.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from drivers._exceptions import PduError
from drivers.sms import gsm7, udh
from drivers.sms.national import BY_IDENTIFIER, UNDEFINED, language

__all__ = ["Alphabet", "DEFAULT", "alphabet", "from_ies", "candidates"]


@dataclass(frozen=True, slots=True)
class Alphabet:
    """A (locking shift, single shift) pair of tables, by National Language Identifier."""

    locking: int = 0
    single: int = 0
    _table: str = field(default=gsm7.BASIC_TABLE, repr=False, compare=False)
    _shift: str = field(default="", repr=False, compare=False)
    # char -> septet(s) as a str of code points < 0x80, for str.translate + latin-1
    _to_septets: dict[int, str] = field(default_factory=dict, repr=False, compare=False)
    _chars: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _escaped: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _single_septet: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    @property
    def is_default(self) -> bool:
        return self.locking == 0 and self.single == 0

    @property
    def ie_count(self) -> int:
        """How many national language IEs every part carries (0, 1 or 2)."""
        return (self.locking != 0) + (self.single != 0)

    @property
    def languages(self) -> tuple[str | None, str | None]:
        """ISO 639-1 codes of the (locking, single) tables; None for the default."""
        return (
            BY_IDENTIFIER[self.locking].code if self.locking else None,
            BY_IDENTIFIER[self.single].code if self.single else None,
        )

    def ies(self) -> tuple[udh.InformationElement, ...]:
        """The national language IEs this alphabet needs in every part's header."""
        out = []
        if self.single:
            out.append(udh.InformationElement(udh.IEI_NATIONAL_SINGLE_SHIFT, bytes((self.single,))))
        if self.locking:
            out.append(udh.InformationElement(udh.IEI_NATIONAL_LOCKING_SHIFT, bytes((self.locking,))))
        return tuple(out)

    def is_representable(self, text: str) -> bool:
        if self.is_default:
            return gsm7.is_representable(text)
        return self._chars.issuperset(text)

    @property
    def single_septet(self) -> frozenset[str]:
        """The characters this alphabet sends as one septet (its locking table)."""
        return self._single_septet

    @property
    def characters(self) -> frozenset[str]:
        """Every character this alphabet can send."""
        return self._chars

    def covers(self, ch: str) -> bool:
        return ch in self._chars

    def septet_length(self, text: str) -> int:
        if self.is_default:
            return gsm7.septet_length(text)
        return len(text) + sum(1 for ch in text if ch in self._escaped)

    def encode(self, text: str) -> bytes:
        """Text -> septets, one per byte. PduError names the first character without a code."""
        if self.is_default:
            return gsm7.encode(text)
        if not self._chars.issuperset(text):
            bad = next(ch for ch in text if ch not in self._chars)
            raise PduError(f"character {bad!r} (U+{ord(bad):04X}) has no code in {self._name()}")
        return self.septets(text)

    def septets(self, text: str) -> bytes:
        """`encode` for a text already known to be representable (no check)."""
        if self.is_default:
            return gsm7.encode(text)
        return text.translate(self._to_septets).encode("latin-1")

    def decode(self, septets: bytes) -> str:
        if self.is_default:
            return gsm7.decode(septets)
        if gsm7.ESCAPE not in septets:
            return codecs.charmap_decode(septets, "strict", self._table + UNDEFINED * 128)[0]
        out: list[str] = []
        i, n = 0, len(septets)
        while i < n:
            s = septets[i] & 0x7F
            i += 1
            if s != gsm7.ESCAPE:
                out.append(self._table[s])
                continue
            if i >= n:
                out.append(" ")  # lone escape at the end
                break
            nxt = septets[i] & 0x7F
            i += 1
            if nxt == gsm7.ESCAPE:
                out.append(" ")  # ESC ESC: reserved for a further table
                continue
            ch = self._shift[nxt]
            out.append(ch if ch != UNDEFINED else self._table[nxt])
        return "".join(out)

    def _name(self) -> str:
        lock, single = self.languages
        return f"the GSM 7-bit alphabet (locking {lock or 'default'}, single shift {single or 'default'})"


DEFAULT = Alphabet(
    _chars=frozenset(gsm7.BASIC_TABLE) - {"\x1b"} | frozenset(gsm7.EXTENSION_TABLE.values()),
    _escaped=frozenset(gsm7.EXTENSION_TABLE.values()),
    _single_septet=frozenset(gsm7.BASIC_TABLE) - {"\x1b"},
)


@lru_cache(maxsize=256)
def alphabet(locking: int = 0, single: int = 0) -> Alphabet:
    """The alphabet for a pair of National Language Identifiers (unknown ones read as 0)."""
    lock_lang = BY_IDENTIFIER.get(locking)
    single_lang = BY_IDENTIFIER.get(single)
    if lock_lang is None or lock_lang.locking is None:
        locking = 0  # Spanish has no locking table (23.038 A.3.2 is not defined)
    if single_lang is None:
        single = 0
    if locking == 0 and single == 0:
        return DEFAULT
    table = lock_lang.locking if locking and lock_lang and lock_lang.locking else gsm7.BASIC_TABLE
    shift = single_lang.single if single and single_lang else _default_shift()
    to_septets: dict[int, str] = {}
    for code, ch in enumerate(table):
        if ch != UNDEFINED and code != gsm7.ESCAPE:
            to_septets.setdefault(ord(ch), chr(code))
    escaped = set()
    for code, ch in enumerate(shift):
        if ch != UNDEFINED and code != gsm7.ESCAPE and ord(ch) not in to_septets:
            to_septets[ord(ch)] = "\x1b" + chr(code)
            escaped.add(ch)
    chars = frozenset(chr(c) for c in to_septets)
    return Alphabet(locking, single, table, shift, to_septets, chars, frozenset(escaped), chars - escaped)


@lru_cache(maxsize=1)
def _default_shift() -> str:
    chars = [UNDEFINED] * 128
    for code, ch in gsm7.EXTENSION_TABLE.items():
        chars[code] = ch
    return "".join(chars)


def from_ies(ies: Iterable[udh.InformationElement]) -> Alphabet:
    """The alphabet a received message's national language IEs select (default if none)."""
    locking = single = 0
    for ie in ies:
        if ie.iei == udh.IEI_NATIONAL_SINGLE_SHIFT and len(ie.data) == 1:
            single = ie.data[0]
        elif ie.iei == udh.IEI_NATIONAL_LOCKING_SHIFT and len(ie.data) == 1:
            locking = ie.data[0]
    return alphabet(locking, single)


@lru_cache(maxsize=64)
def _candidates(codes: tuple[str, ...]) -> tuple[Alphabet, ...]:
    ids = [language(code).identifier for code in codes]
    out: list[Alphabet] = [DEFAULT]
    # Single shift only first (one IE, the default alphabet stays), then locking only, then
    # both: for equal part counts the earlier candidate wins.
    for single in ids:
        out.append(alphabet(0, single))
    for lock in ids:
        if BY_IDENTIFIER[lock].locking is not None:
            out.append(alphabet(lock, 0))
    for lock in ids:
        for single in ids:
            if BY_IDENTIFIER[lock].locking is not None:
                out.append(alphabet(lock, single))
    return tuple(dict.fromkeys(out))


def candidates(codes: Sequence[str]) -> tuple[Alphabet, ...]:
    """The alphabets a sender allowed `codes` (ISO 639-1) may use, default first.

    Every locking table of the list may pair with every single shift table of it.
    PduError for a code with no table.
    """
    try:
        return _candidates(tuple(dict.fromkeys(c.lower() for c in codes)))
    except KeyError as exc:
        raise PduError(str(exc.args[0])) from None
