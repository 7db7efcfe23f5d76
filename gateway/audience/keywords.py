"""Inbound keywords (STOP, START, HELP): which one a whole message is.

Kept apart from `gateway.audience.consent` (the ledger and the suppression list, on the database)
so that reading the settings stays light: every `modemgate` command reads them. The words
and replies are settings (`gateway.core.consentsettings`, re-exported here); keywords are
compared after `normalise_keyword`: letters and digits only, case-folded, accents removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.consentsettings import ConsentSettings, KeywordKind, KeywordSet, Replies, normalise_keyword

__all__ = ["KeywordKind", "KeywordSet", "Replies", "ConsentSettings", "Keyword", "normalise_keyword", "classify"]


@dataclass(frozen=True)
class Keyword:
    kind: KeywordKind
    word: str  # as configured, e.g. "STOPALL"
    language: str


def classify(text: str, settings: ConsentSettings) -> Keyword | None:
    """The keyword a whole message is, or None for any other message."""
    if len(text) > 64:  # a keyword with some punctuation around it, never a sentence
        return None
    found = settings._index.get(normalise_keyword(text))
    return Keyword(*found) if found else None
