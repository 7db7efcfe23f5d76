"""What a text costs in parts, what makes it expensive, and what the opt-in savings give.

`plan` is the sender's decision: with the national tables it may use and whether it may
transliterate, which text goes out in which alphabet. Transliteration is applied only when it
saves at least one part, and then only to characters the chosen alphabet lacks (with the
Turkish table, `ş` stays and `’` becomes `'`).

`explain` is for people: which characters force UCS-2, and the parts before and after
transliteration or each national table, whether or not they are enabled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from drivers.sms import transliteration
from drivers.sms.alphabets import DEFAULT, candidates
from drivers.sms.national import LANGUAGES
from drivers.sms.segments import Encoding, estimate

__all__ = ["Plan", "Explanation", "plan", "explain"]


@dataclass(frozen=True, slots=True)
class Plan:
    """The text to send and how: `text` differs from the input only when transliterated."""

    text: str
    encoding: Encoding
    segments: int
    locking: str | None = None
    single: str | None = None
    replaced: tuple[str, ...] = ()  # characters transliteration replaced, in order of appearance

    @property
    def transliterated(self) -> bool:
        return bool(self.replaced)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a text costs what it does. `to_dict` is the JSON shape of `pdu estimate --explain`
    and of the `encoding` field of a campaign's review and preview."""

    encoding: Encoding
    segments: int
    characters: int
    locking: str | None
    single: str | None
    transliterated: bool
    forcing_ucs2: tuple[dict[str, object], ...]
    options: tuple[dict[str, object], ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding,
            "segments": self.segments,
            "characters": self.characters,
            "national_tables": {"locking": self.locking, "single": self.single},
            "transliterated": self.transliterated,
            "forcing_ucs2": list(self.forcing_ucs2),
            "options": list(self.options),
        }


def plan(text: str, *, languages: Sequence[str] = (), transliterate: bool = False, ref16: bool = False) -> Plan:
    """The cheapest way to send `text` within what the sender allows. PduError for an unknown
    language or a text of more than 255 parts."""
    exact = estimate(text, ref16=ref16, languages=languages)
    best = Plan(text, exact.encoding, exact.segments, exact.locking, exact.single)
    if not transliterate or exact.encoding == "gsm7":
        return best
    for alpha in candidates(languages):
        keep = alpha.characters if not alpha.is_default else frozenset()
        changed = transliteration.replaced(text, keep)
        if not changed:
            continue
        variant = transliteration.transliterate(text, keep)
        est = estimate(variant, ref16=ref16, languages=languages)
        if est.segments < best.segments or (
            est.segments == best.segments and best.replaced and len(changed) < len(best.replaced)
        ):
            best = Plan(variant, est.encoding, est.segments, est.locking, est.single, changed)
    return best


def explain(
    text: str, *, languages: Sequence[str] = (), transliterate: bool = False, ref16: bool = False
) -> Explanation:
    """The plan for `text` with the given permissions, the characters that force UCS-2 and what
    each saving would give. An option is listed only where it changes the encoding."""
    chosen = plan(text, languages=languages, transliterate=transliterate, ref16=ref16)
    counts = Counter(ch for ch in text if not DEFAULT.covers(ch))
    forcing: tuple[dict[str, object], ...] = tuple(
        {
            "character": ch,
            "code_point": f"U+{ord(ch):04X}",
            "count": n,
            "transliteration": transliteration.REPLACEMENTS.get(ch),
            "tables": [lang.code for lang in LANGUAGES if _language_covers(lang.code, ch)],
        }
        for ch, n in counts.items()
    )
    options: list[dict[str, object]] = []
    if counts:
        before = estimate(text, ref16=ref16).segments
        enabled = set(c.lower() for c in languages)
        translit = plan(text, transliterate=True, ref16=ref16)
        if translit.transliterated:
            options.append(_option("transliterate", None, translit, before, enabled=transliterate))
        for lang in LANGUAGES:
            if not any(_language_covers(lang.code, ch) for ch in counts):
                continue
            with_table = plan(text, languages=[lang.code], ref16=ref16)
            if with_table.encoding == "gsm7":
                options.append(_option("national_table", lang.code, with_table, before, enabled=lang.code in enabled))
            both = plan(text, languages=[lang.code], transliterate=True, ref16=ref16)
            uses_table = both.locking is not None or both.single is not None
            if both.transliterated and uses_table and both.segments < with_table.segments:
                options.append(
                    _option(
                        "national_table+transliterate",
                        lang.code,
                        both,
                        before,
                        enabled=lang.code in enabled and transliterate,
                    )
                )
        options.sort(key=lambda o: (o["segments_after"], str(o["option"]), str(o["language"])))
    return Explanation(
        chosen.encoding,
        chosen.segments,
        len(text),
        chosen.locking,
        chosen.single,
        chosen.transliterated,
        forcing,
        tuple(options),
    )


def _option(name: str, language: str | None, result: Plan, before: int, *, enabled: bool) -> dict[str, object]:
    return {
        "option": name,
        "language": language,
        "enabled": enabled,
        "encoding": result.encoding,
        "segments_before": before,
        "segments_after": result.segments,
        "saves": before - result.segments,
        "replaced": list(result.replaced),
    }


def _language_covers(code: str, ch: str) -> bool:
    return any(alpha.covers(ch) for alpha in candidates([code]) if not alpha.is_default)
