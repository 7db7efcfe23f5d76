"""`[sms]` in the settings: how texts are encoded.

`languages` lists the national shift tables of 3GPP TS 23.038 Annex A (ISO 639-1 codes:
tr, es, pt, bn, gu, hi, kn, ml, or, pa, ta, te, ur) that the recipients' handsets are trusted
to read; support varies by handset, so none are used unless listed. `transliterate` lets the
gateway replace typographic punctuation and look-alike letters when that saves a part (a
campaign can ask for it on its own). Both only ever change how a message is sent when that
takes fewer parts.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from drivers.sms import LANGUAGES

__all__ = ["SmsSettings"]

_CODES = tuple(lang.code for lang in LANGUAGES)


class SmsSettings(BaseModel):
    languages: list[str] = Field(default_factory=list)
    transliterate: bool = False

    @field_validator("languages")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        codes = [v.strip().lower() for v in value]
        unknown = [c for c in codes if c not in _CODES]
        if unknown:
            raise ValueError(f"no national shift table for {', '.join(unknown)}; known: {', '.join(_CODES)}")
        return list(dict.fromkeys(codes))
