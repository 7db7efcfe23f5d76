"""`[consent]` in the settings: keyword words and replies by language, the account's time zone.

The settings model lives in the core because `Settings` mounts it (`Settings.consent`) and
the core loads settings; acting on the words (STOP, START, HELP) is
`gateway.audience.keywords` and `gateway.audience.consent`. Keywords are compared after
`normalise_keyword`: letters and digits only, case-folded, accents removed.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator

from gateway.core.timezones import check_time_zone

__all__ = [
    "KeywordKind",
    "KeywordSet",
    "Replies",
    "DEFAULT_KEYWORDS",
    "DEFAULT_REPLIES",
    "ConsentSettings",
    "normalise_keyword",
]

KeywordKind = Literal["stop", "start", "help"]


class KeywordSet(BaseModel):
    """The words of one language, as people type them (compared after `normalise_keyword`)."""

    stop: list[str] = Field(default_factory=list)
    start: list[str] = Field(default_factory=list)
    help: list[str] = Field(default_factory=list)


class Replies(BaseModel):
    """The answers in one language. Keep them under 160 GSM-7 characters (one part)."""

    stop: str = Field(min_length=1, max_length=480)
    start: str = Field(min_length=1, max_length=480)
    help: str = Field(min_length=1, max_length=480)
    # The campaign opt-out footer in this language (campaigns that keep the default footer);
    # None: the fallback language's.
    footer: str | None = Field(default=None, min_length=1, max_length=100)
    # START from a number that never subscribed: "subscribed again" would be untrue.
    welcome: str | None = Field(default=None, min_length=1, max_length=480)


DEFAULT_KEYWORDS: dict[str, KeywordSet] = {
    "en": KeywordSet(
        stop=["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPT OUT"],
        start=["START", "UNSTOP", "SUBSCRIBE"],
        help=["HELP", "INFO"],
    ),
    "nl": KeywordSet(stop=["AFMELDEN", "UITSCHRIJVEN", "STOPPEN"], start=["AANMELDEN"], help=["HULP"]),
    "de": KeywordSet(stop=["STOPP", "ABMELDEN", "ABBESTELLEN"], start=["ANMELDEN"], help=["HILFE"]),
    "fr": KeywordSet(stop=["ARRET", "DESABONNER", "DESINSCRIRE"], start=["ABONNER"], help=["AIDE"]),
    "es": KeywordSet(stop=["BAJA", "PARAR", "CANCELAR"], start=["ALTA"], help=["AYUDA"]),
}
DEFAULT_REPLIES: dict[str, Replies] = {
    "en": Replies(
        stop="You are unsubscribed and will get no more messages from this number. Reply START to subscribe again.",
        start="You are subscribed again. Reply STOP to unsubscribe, HELP for help.",
        help="Reply STOP to unsubscribe, START to subscribe again.",
        footer="Reply STOP to opt out",
        welcome="You are subscribed. Reply STOP to unsubscribe, HELP for help.",
    ),
    "nl": Replies(
        stop="Je bent afgemeld en krijgt geen berichten meer van dit nummer. Stuur AANMELDEN om je weer aan te melden.",
        start="Je bent weer aangemeld. Stuur AFMELDEN om je af te melden.",
        help="Stuur AFMELDEN om je af te melden, AANMELDEN om je weer aan te melden.",
        footer="Afmelden? Stuur AFMELDEN",
        welcome="Je bent aangemeld. Stuur AFMELDEN om je af te melden.",
    ),
    "de": Replies(
        stop="Sie sind abgemeldet und erhalten keine Nachrichten mehr von dieser Nummer. Senden Sie ANMELDEN zum Anmelden.",
        start="Sie sind wieder angemeldet. Senden Sie STOPP zum Abmelden.",
        help="Senden Sie STOPP zum Abmelden, ANMELDEN zum erneuten Anmelden.",
        footer="Abmelden: STOPP senden",
        welcome="Sie sind angemeldet. Senden Sie STOPP zum Abmelden.",
    ),
    "fr": Replies(
        stop="Vous êtes désinscrit et ne recevrez plus de messages de ce numéro. Envoyez ABONNER pour vous réinscrire.",
        start="Vous êtes de nouveau inscrit. Envoyez ARRET pour vous désinscrire.",
        help="Envoyez ARRET pour vous désinscrire, ABONNER pour vous réinscrire.",
        footer="Désinscription : envoyez ARRET",
        welcome="Vous êtes inscrit. Envoyez ARRET pour vous désinscrire.",
    ),
    "es": Replies(
        stop="Te has dado de baja y no recibirás más mensajes de este número. Envía ALTA para volver a suscribirte.",
        start="Te has suscrito de nuevo. Envía BAJA para darte de baja.",
        help="Envía BAJA para darte de baja, ALTA para suscribirte de nuevo.",
        footer="Baja: envía BAJA",
        welcome="Te has suscrito. Envía BAJA para darte de baja.",
    ),
}


class ConsentSettings(BaseModel):
    """Keywords, replies and the account's time zone (mounted as `Settings.consent`).

    `keywords` and `replies` given in the settings are laid over the defaults language by
    language: `[consent.keywords.nl]` replaces the Dutch words and leaves English alone
    (give a language empty lists to switch it off). A word may belong to one kind only.
    The reply is in the language of the word that matched, else in `fallback_language`.
    """

    keywords: dict[str, KeywordSet] = Field(default_factory=lambda: dict(DEFAULT_KEYWORDS))
    replies: dict[str, Replies] = Field(default_factory=lambda: dict(DEFAULT_REPLIES))
    fallback_language: str = "en"
    # Whether STOP (any opt-out) stops transactional messages too, not only marketing. On by
    # default: someone who sent STOP gets nothing more from this number.
    stop_transactional: bool = True
    # For contacts whose number does not say where they are (gateway.audience.contacts).
    default_time_zone: str = "UTC"

    _index: dict[str, tuple[KeywordKind, str, str]] = PrivateAttr(default_factory=dict)

    @field_validator("keywords", mode="before")
    @classmethod
    def _over_default_keywords(cls, value: Any) -> Any:
        return {**DEFAULT_KEYWORDS, **value} if isinstance(value, dict) else value

    @field_validator("replies", mode="before")
    @classmethod
    def _over_default_replies(cls, value: Any) -> Any:
        return {**DEFAULT_REPLIES, **value} if isinstance(value, dict) else value

    @field_validator("default_time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_time_zone(value, field="default_time_zone")

    @model_validator(mode="after")
    def _build_index(self) -> ConsentSettings:
        if self.fallback_language not in self.replies:
            raise ValueError(f"replies: no replies for the fallback language {self.fallback_language!r}")
        index: dict[str, tuple[KeywordKind, str, str]] = {}
        # The fallback language first: a word in several languages answers in that one.
        languages = sorted(self.keywords, key=lambda lang: lang != self.fallback_language)
        for language in languages:
            words = self.keywords[language]
            for kind in ("stop", "start", "help"):
                for word in getattr(words, kind):
                    key = normalise_keyword(word)
                    if not key:
                        raise ValueError(f"keywords.{language}.{kind}: {word!r} has no letters or digits")
                    if key in index and index[key][0] != kind:
                        raise ValueError(f"keywords.{language}.{kind}: {word!r} is already a {index[key][0]} word")
                    index.setdefault(key, (kind, word, language))
        self._index = index
        return self

    def reply(self, kind: KeywordKind | Literal["welcome"], language: str) -> str:
        """The answer to `kind` in `language` (else the fallback language). `welcome` (the
        first START of a number) falls back to the language's default, then to `start`."""
        replies = self.replies.get(language) or self.replies[self.fallback_language]
        if kind == "welcome":
            default = DEFAULT_REPLIES.get(language) or DEFAULT_REPLIES[self.fallback_language]
            return replies.welcome or default.welcome or replies.start
        text: str = getattr(replies, kind)
        return text

    def footer(self, locale: str | None) -> str | None:
        """The opt-out footer for a contact's locale: its language's, else the fallback
        language's (None when neither has one)."""
        language = self.language_for(locale, self.fallback_language)
        return self.replies[language].footer or self.replies[self.fallback_language].footer

    def language_for(self, locale: str | None, otherwise: str) -> str:
        """The replies' language for a contact's BCP 47 `locale`: the whole tag if the
        settings have replies for it (`pt-BR`), else its language (`pt`), else `otherwise`
        (the language of the word they sent)."""
        if locale:
            for tag in (locale, locale.split("-")[0].lower()):
                if tag in self.replies:
                    return tag
        return otherwise


def normalise_keyword(text: str) -> str:
    """Letters and digits only, case-folded, accents removed: the form keywords are compared in."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.casefold() if unicodedata.category(ch)[0] in "LN")
