"""Opt-in transliteration: characters outside GSM-7 replaced by a GSM-7 look-alike.

One character outside the GSM 7-bit alphabet turns a whole message into UCS-2 (70 characters
a part instead of 160). Most of them come from word processors and phone keyboards, not from
the writer's intent; these are replaced, and nothing else:

- typographic quotes ‘ ’ ‚ ‛ ′ → ' and “ ” „ ‟ ″ « » → ": the same quotation, straight;
- dashes and minus ‐ ‑ ‒ – — ― − → -: GSM-7 has only the hyphen-minus;
- the ellipsis … → three full stops, which is how it is typed without autocorrect;
- no-break and other fixed-width spaces (U+00A0, U+2000–U+200A, U+202F, U+205F, U+3000) → a
  space: they differ only in where a line may break; zero-width spaces, joiners, the BOM and the
  soft hyphen are dropped: they are invisible;
- a Latin letter with a diacritic GSM-7 lacks (ş ğ á â ã ō ...) → its base letter, when the
  base has a GSM-7 code (the Unicode decomposition minus its combining marks), and a few
  letters with no decomposition that read as a plain one (ı → i, ł → l, đ → d, ħ → h);
- Greek capitals that are drawn like Latin ones (Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Υ Χ): GSM-7 already
  holds the Greek capitals that are not, and a reader cannot tell these apart.

Letters GSM-7 has (é è ü ñ ø ...) are never touched, and neither is anything else (Cyrillic,
emoji, other scripts): a replacement has to read the same, or it is not made.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from drivers.sms import gsm7

__all__ = ["REPLACEMENTS", "transliterate", "replaced"]


def _build() -> dict[str, str]:
    table: dict[str, str] = {}
    for ch in "‘’‚‛′":
        table[ch] = "'"
    for ch in "“”„‟″«»":
        table[ch] = '"'
    for ch in "‐‑‒–—―−":
        table[ch] = "-"
    table["…"] = "..."
    for code in (0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000):
        table[chr(code)] = " "
    for code in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD):
        table[chr(code)] = ""
    for code in range(0x00C0, 0x0250):  # Latin-1 Supplement letters, Latin Extended-A and -B
        ch = chr(code)
        if gsm7.is_representable(ch) or not ch.isalpha():
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if len(base) == 1 and base != ch and gsm7.is_representable(base):
            table[ch] = base
    table.update({"ı": "i", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h", "Ħ": "H"})
    for greek, latin in zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX", strict=True):
        table[greek] = latin
    assert all(gsm7.is_representable(v) for v in table.values())
    return table


REPLACEMENTS: dict[str, str] = _build()
_TRANSLATION = {ord(k): v for k, v in REPLACEMENTS.items()}


def transliterate(text: str, keep: frozenset[str] = frozenset()) -> str:
    """`text` with every character of REPLACEMENTS replaced, except those in `keep` (the
    characters a national shift table in use can send as they are)."""
    if not keep:
        return text.translate(_TRANSLATION)
    return text.translate(_translation_keeping(keep))


def replaced(text: str, keep: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The distinct characters of `text` that `transliterate` would replace, in order of appearance."""
    return tuple(dict.fromkeys(ch for ch in text if ch in REPLACEMENTS and ch not in keep))


@lru_cache(maxsize=64)
def _translation_keeping(keep: frozenset[str]) -> dict[int, str]:
    return {k: v for k, v in _TRANSLATION.items() if chr(k) not in keep}
