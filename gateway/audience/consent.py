"""Consent: the opt-in ledger, the suppression list, and STOP / START / HELP by SMS.

The rules a send is held to (`may_send`), following CTIA's messaging principles and
carriers' codes of conduct:

- A number on the suppression list gets nothing, marketing or transactional: STOP ends
  everything from this sender. The one exception is the confirmation of the STOP itself,
  which the caller sends without asking `may_send` (`KeywordAction.reply`).
- A marketing message also needs consent: the number's latest ledger entry must be an
  opt-in. Transactional messages (one-time codes, receipts, alerts the person asked for)
  need no opt-in.
- An opt-in recorded through the API does not lift a suppression: someone who texted STOP
  is sent nothing until they text START or the entry is removed on purpose.

The suppression list is keyed by the sha256 of the E.164 number; the number itself is
kept beside it until the contact is erased (`gateway.audience.privacy.erase`), so an erased person
who had opted out stays opted out. (A hash of a phone number is a pseudonym, not
anonymous: the number space is small enough to search. It is kept for exactly this check.)

Keywords are matched on the whole message, ignoring letter case, accents, punctuation,
spaces and emoji: "Stop!", " s.t.o.p " and "STOP 🛑" are STOP; "please stop by the shop"
is not. The defaults are the CTIA set (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT),
the FCC's (REVOKE, OPT OUT), START/UNSTOP, HELP/INFO, and words in a few more languages;
`ConsentSettings.keywords` adds or replaces languages. A confirmation is sent once: a
STOP from a number that is already opted out changes nothing and gets no second reply.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from gateway.audience.contacts import ContactData, RowError, create_contact, find_contact
from gateway.audience.keywords import (  # re-exported: settings and keywords live in their own light module
    ConsentSettings,
    Keyword,
    KeywordKind,
    KeywordSet,
    Replies,
    classify,
    normalise_keyword,
)
from gateway.core import paging, webhooks
from gateway.core.db import rowcount
from gateway.core.errors import InvalidInput, NotFound
from gateway.core.models import CATEGORIES, ConsentKind, ConsentRecord, Contact, Suppression, SuppressionReason
from gateway.core.numbers import normalise_number

__all__ = [
    "KeywordSet",
    "Replies",
    "ConsentSettings",
    "Keyword",
    "KeywordAction",
    "Verdict",
    "OptOutImport",
    "number_hash",
    "normalise_keyword",
    "classify",
    "handle_inbound",
    "may_send",
    "record_consent",
    "consent_state",
    "consent_history",
    "states",
    "suppression_for",
    "suppress",
    "add_opt_out",
    "OptOutRemoval",
    "remove_opt_out",
    "import_opt_outs",
    "opt_outs_page",
    "all_opt_outs",
]

VerdictReason = Literal["ok", "opted_out", "no_consent", "consent_withdrawn"]


# --- keywords -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KeywordAction:
    """What an inbound keyword did, and what to send back.

    `reply` is the text to send to `number` now (None: send nothing — a repeated STOP or
    START). It is the STOP confirmation or a HELP answer, so send it even though the
    number is suppressed and outside any send window. `event` is the webhook event that
    was queued in the same transaction (None when nothing changed).
    """

    kind: KeywordKind
    number: str
    keyword: str
    language: str
    changed: bool
    reply: str | None
    event: Literal["optout", "optin"] | None


def handle_inbound(
    s: Session,
    number: str,
    text: str,
    *,
    settings: ConsentSettings,
    now: datetime,
    region: str | None = None,
    source_message_id: int | None = None,
) -> KeywordAction | None:
    """Act on an inbound message if it is a keyword; None if it is not (or the sender is
    not a phone number). Runs in the caller's transaction (flushes, does not commit).

    STOP: suppress the number, record the opt-out, queue `optout`, reply once.
    START: lift the suppression (also an erased one), record an opt-in (the person asked
    for messages, the message is the proof), queue `optin`, reply once; a number with no
    contact gets one, and one that never subscribed is welcomed, not "subscribed again". HELP: reply, every time (CTIA: even when
    opted out). `region` reads a sender given in national form.
    """
    keyword = classify(text, settings)
    if keyword is None:
        return None
    e164 = _sender_number(number, region)
    if e164 is None:
        return None
    changed = False
    event: Literal["optout", "optin"] | None = None
    if keyword.kind == "stop":
        _, changed = suppress(s, e164, reason="stop", now=now, source_message_id=source_message_id)
        # Every STOP is evidence, also a repeated one; only the first is news.
        record_consent(s, e164, "opt_out", source="keyword", proof=text, now=now)
        if changed:
            event = "optout"
    first_start = False
    if keyword.kind == "start":
        lifted = _unsuppress(s, e164)
        state = consent_state(s, e164)
        if lifted or state != "opt_in":
            first_start = state is None and not lifted
            if find_contact(s, e164) is None:
                create_contact(s, ContactData(e164), now=now, default_time_zone=settings.default_time_zone)
            record_consent(s, e164, "opt_in", source="keyword", proof=text, now=now)
            changed, event = True, "optin"
    if event is not None:
        _announce(s, event, e164, source="keyword", keyword=keyword.word, now=now, inbound_message_id=source_message_id)
    # In the contact's language when it is known and has replies, else in the word's.
    locale = s.execute(sa.select(col(Contact.locale)).where(col(Contact.number) == e164)).scalar()
    language = settings.language_for(locale, keyword.language)
    reply = None
    if changed or keyword.kind == "help":
        reply = settings.reply("welcome" if first_start else keyword.kind, language)
    return KeywordAction(keyword.kind, e164, keyword.word, language, changed, reply, event)


# --- may send? ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Whether a message may go to a number now, and why not.

    reason: ok | opted_out (on the suppression list; `detail` is why: stop, manual,
    import, erased) | no_consent (marketing, never opted in) | consent_withdrawn
    (marketing, the latest consent is an opt-out).
    """

    allowed: bool
    reason: VerdictReason
    detail: str | None = None


def may_send(s: Session | Connection, number: str, category: str, *, stop_transactional: bool = True) -> Verdict:
    """Check one E.164 number for a `transactional` or `marketing` message.

    An opted-out number gets nothing, unless `stop_transactional` is False (`[consent]
    stop_transactional`): then its transactional messages still go. Two indexed lookups;
    works on a Session or a Connection (e.g. inside the outbox claim).
    """
    if category not in CATEGORIES:
        raise InvalidInput("category", f"must be one of {', '.join(CATEGORIES)}")
    reason = s.execute(_SUPPRESSED, {"h": number_hash(number)}).scalar()
    if reason is not None and (category == "marketing" or stop_transactional):
        return Verdict(False, "opted_out", reason)
    if category == "marketing":
        latest = s.execute(_LATEST_CONSENT, {"number": number}).scalar()
        if latest is None:
            return Verdict(False, "no_consent")
        if latest != "opt_in":
            return Verdict(False, "consent_withdrawn")
    return Verdict(True, "ok")


# Built once: asked for every message a claim hands out.
_SUPPRESSED = sa.select(col(Suppression.reason)).where(col(Suppression.number_hash) == sa.bindparam("h"))
_LATEST_CONSENT = (
    sa.select(col(ConsentRecord.kind))
    .where(col(ConsentRecord.number) == sa.bindparam("number"))
    .order_by(col(ConsentRecord.recorded_at).desc(), col(ConsentRecord.id).desc())
    .limit(1)
)


def number_hash(number: str) -> str:
    """sha256 of an E.164 number, in hex: the key of the suppression list."""
    return hashlib.sha256(number.encode("ascii", "replace")).hexdigest()


# --- the ledger ---------------------------------------------------------------------------


def record_consent(
    s: Session,
    number: str,
    kind: ConsentKind,
    *,
    source: str,
    now: datetime,
    proof: str | None = None,
    ip: str | None = None,
    contact_id: int | None = None,
    reason: str | None = None,
) -> ConsentRecord:
    """Add one ledger entry for an E.164 number (flushed). The contact is looked up when not
    given. `reason`: why an opt-out was set aside, with the opt-in that did it."""
    if kind not in ("opt_in", "opt_out"):
        raise InvalidInput("kind", "must be opt_in or opt_out")
    if contact_id is None:
        contact = find_contact(s, number)
        contact_id = contact.id if contact is not None else None
    row = ConsentRecord(
        number=number,
        contact_id=contact_id,
        kind=kind,
        source=source,
        proof=proof,
        ip=ip,
        reason=reason,
        recorded_at=now,
    )
    s.add(row)
    s.flush()
    return row


def consent_state(s: Session, number: str) -> ConsentKind | None:
    """The kind of the number's latest ledger entry, or None if it has none."""
    return s.exec(
        select(ConsentRecord.kind)
        .where(ConsentRecord.number == number)
        .order_by(col(ConsentRecord.recorded_at).desc(), col(ConsentRecord.id).desc())
        .limit(1)
    ).first()  # type: ignore[return-value]


def states(s: Session, numbers: Iterable[str]) -> dict[str, tuple[ConsentKind | None, bool]]:
    """For each number: its latest consent kind (or None) and whether it is suppressed."""
    wanted = list(dict.fromkeys(numbers))
    if not wanted:
        return {}
    latest: dict[str, ConsentKind] = {}
    rows = s.exec(
        select(ConsentRecord.number, ConsentRecord.kind)
        .where(col(ConsentRecord.number).in_(wanted))
        .order_by(col(ConsentRecord.number), col(ConsentRecord.recorded_at), col(ConsentRecord.id))
    )
    for number, kind in rows:
        latest[number] = kind  # type: ignore[assignment]  # the last one per number wins
    hashes = {number_hash(n): n for n in wanted}
    suppressed = {
        hashes[h]
        for h in s.exec(select(col(Suppression.number_hash)).where(col(Suppression.number_hash).in_(list(hashes))))
    }
    return {n: (latest.get(n), n in suppressed) for n in wanted}


def consent_history(s: Session, number: str) -> list[ConsentRecord]:
    """Every ledger entry of a number, oldest first."""
    return list(
        s.exec(
            select(ConsentRecord)
            .where(col(ConsentRecord.number) == number)
            .order_by(col(ConsentRecord.recorded_at), col(ConsentRecord.id))
        )
    )


# --- the suppression list -----------------------------------------------------------------


def suppression_for(s: Session, number: str) -> Suppression | None:
    return s.exec(select(Suppression).where(Suppression.number_hash == number_hash(number))).first()


def suppress(
    s: Session,
    number: str,
    *,
    reason: SuppressionReason,
    now: datetime,
    source_message_id: int | None = None,
) -> tuple[Suppression, bool]:
    """Put an E.164 number on the suppression list; returns its entry and whether it is new.

    Safe against a concurrent insert of the same number (two STOPs at once on PostgreSQL):
    the loser finds the winner's row.
    """
    existing = suppression_for(s, number)
    if existing is not None:
        return existing, False
    row = Suppression(
        number=number,
        number_hash=number_hash(number),
        reason=reason,
        source_message_id=source_message_id,
        created_at=now,
    )
    try:
        with s.begin_nested():
            s.add(row)
    except sa.exc.IntegrityError:
        existing = suppression_for(s, number)
        if existing is None:
            raise
        return existing, False
    return row, True


def add_opt_out(
    s: Session, number: str, *, region: str, now: datetime, reason: SuppressionReason = "manual", source: str = "api"
) -> tuple[Suppression, bool]:
    """Opt a number out by hand: suppression, ledger entry, and `optout` event if it is new."""
    e164 = normalise_number(number, region)
    row, created = suppress(s, e164, reason=reason, now=now)
    if created:
        record_consent(s, e164, "opt_out", source=source, now=now)
        _announce(s, "optout", e164, source=source, now=now)
    return row, created


@dataclass(frozen=True)
class OptOutRemoval:
    """Why an opt-out is lifted by hand, and the new consent that allows it."""

    reason: str
    source: str
    proof: str
    ip: str | None = None


def remove_opt_out(
    s: Session, number: str, *, region: str, now: datetime, removal: OptOutRemoval | None = None
) -> Suppression:
    """Take a number off the suppression list (also an erased entry, by the number's hash).

    An opt-out that came from a STOP is the person's own word: it is lifted only with a
    `removal` (InvalidInput otherwise), whose reason and new proof of consent go into the
    ledger as an opt-in beside the STOP's opt-out, and `optin` is announced. Others may be
    lifted without one; then consent is not restored: marketing still needs a new opt-in.
    Raises NotFound.
    """
    e164 = normalise_number(number, region)
    row = suppression_for(s, e164)
    if row is None:
        raise NotFound("opt-out", e164)
    if removal is None and row.reason == "stop":
        raise InvalidInput(
            "reason",
            "this opt-out came from a STOP: lifting it needs a reason and new proof of consent "
            "(reason, source, proof in the body)",
            summary="required to lift an opt-out that came from a STOP",
        )
    s.delete(row)
    if removal is not None:
        record_consent(
            s, e164, "opt_in", source=removal.source, proof=removal.proof, ip=removal.ip, reason=removal.reason, now=now
        )
        _announce(s, "optin", e164, source=removal.source, now=now)
    s.flush()
    return row


@dataclass
class OptOutImport:
    added: int = 0
    existing: int = 0
    errors: list[RowError] = field(default_factory=list)


def import_opt_outs(s: Session, numbers: Iterable[str | None], *, region: str, now: datetime) -> OptOutImport:
    """Suppress many numbers (reason `import`); bad ones are reported by row, the rest added.

    Each new one gets a ledger entry; no webhook events (the importer knows them).
    """
    result = OptOutImport()
    for row, number in enumerate(numbers, 1):
        try:
            if not isinstance(number, str) or not number.strip():
                raise InvalidInput("number", "missing")
            e164 = normalise_number(number, region)
        except InvalidInput as exc:
            given = number if isinstance(number, str) and number.strip() else None
            result.errors.append(RowError(row, given, exc.field, str(exc)))
            continue
        _, created = suppress(s, e164, reason="import", now=now)
        if created:
            record_consent(s, e164, "opt_out", source="import", now=now)
            result.added += 1
        else:
            result.existing += 1
    return result


def opt_outs_page(s: Session, *, cursor: str | None, limit: int, reason: str | None = None) -> paging.Page[Suppression]:
    """The suppression list, newest first, one page from `cursor`."""
    query = select(Suppression)
    if reason is not None:
        query = query.where(Suppression.reason == reason)
    return paging.query_page(s, query, Suppression.created_at, Suppression.id, cursor=cursor, limit=limit)


def all_opt_outs(s: Session) -> list[Suppression]:
    """The whole list, oldest first (for export)."""
    return list(s.exec(select(Suppression).order_by(col(Suppression.created_at), col(Suppression.id))))


# --- helpers ------------------------------------------------------------------------------

_E164 = re.compile(r"\+[1-9][0-9]{5,14}")  # ITU-T E.164: at most 15 digits


def _sender_number(number: str, region: str | None) -> str | None:
    """The sender in E.164, or None for an alphanumeric sender. A number the network gave
    is taken as it is even when the numbering plan does not know it: a STOP must count."""
    try:
        return normalise_number(number, region or "ZZ")
    except InvalidInput:
        return number if _E164.fullmatch(number) else None


def _unsuppress(s: Session, number: str) -> bool:
    result = s.execute(sa.delete(Suppression).where(col(Suppression.number_hash) == number_hash(number)))
    return bool(rowcount(result))


def _announce(
    s: Session,
    event: Literal["optout", "optin"],
    number: str,
    *,
    source: str,
    now: datetime,
    keyword: str | None = None,
    inbound_message_id: int | None = None,
) -> None:
    webhooks.enqueue(
        s,
        event,
        {
            "number": number,
            "source": source,
            "keyword": keyword,
            "inbound_message_id": inbound_message_id,
            "at": now.isoformat(),
        },
        now=now,
    )
