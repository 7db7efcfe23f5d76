"""Custom keywords: words people text in, and what each one does.

A rule matches a whole message the way STOP does (`normalise_keyword`: case, accents,
punctuation and spaces ignored), for one receiving modem or for all; a rule for the
modem that received the message wins over one for every modem. The built-in STOP, START
and HELP words are never custom words: they are answered first, by the consent layer.

Actions, run in order in the transaction that stores the inbound message:
    {"type": "opt_in"}                         consent, with the message as proof (contact created if unknown)
    {"type": "list_add", "list_id": 3}         {"type": "list_remove", "list_id": 3}
    {"type": "set_field", "field": "source", "value": "poster"}
    {"type": "start_sequence", "sequence_id": 1}
    {"type": "start_survey", "survey_id": 2}
    {"type": "webhook", "url": "https://…"}    `keyword.matched` posted there too, signed with the key's callback secret
The rule's `reply` (tokens from the contact: `{{first_name|there}}`) is sent last.
Every match queues `keyword.matched` for the webhooks subscribed to it.

Double opt-in: with `double_opt_in`, the keyword only asks "reply YES to confirm"
(`confirm_prompt`, else the prompt in the rule's `language`); a YES (or JA, OUI, SI) within `CONFIRM_WINDOW` records the consent,
with both messages as proof, and runs the actions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.audience import consent, contacts
from gateway.audience.keywords import ConsentSettings, classify, normalise_keyword
from gateway.automation import sequences, surveys
from gateway.automation.outgoing import queue_text
from gateway.campaigns import templates
from gateway.core import egress, webhooks
from gateway.core.db import get_or_raise
from gateway.core.errors import InvalidInput
from gateway.core.models import (
    Contact,
    ContactList,
    DripSequence,
    InboundMessage,
    KeywordConfirmation,
    KeywordRule,
    Survey,
)

__all__ = [
    "ACTION_TYPES",
    "CONFIRM_WORDS",
    "CONFIRM_WINDOW",
    "DEFAULT_CONFIRM_PROMPT",
    "CONFIRM_PROMPTS",
    "RuleSpec",
    "Match",
    "create_rule",
    "all_rules",
    "delete_rule",
    "find_rule",
    "apply",
    "confirm",
]

ACTION_TYPES = ("opt_in", "list_add", "list_remove", "set_field", "start_sequence", "start_survey", "webhook")
CONFIRM_WORDS = frozenset({"yes", "y", "ja", "oui", "si", "sí"})
CONFIRM_WINDOW = timedelta(hours=48)
DEFAULT_CONFIRM_PROMPT = "Reply YES to confirm your subscription. Reply STOP to opt out."
# The prompt in the rule's language when it gives none (the YES words of each are CONFIRM_WORDS).
CONFIRM_PROMPTS = {
    "en": DEFAULT_CONFIRM_PROMPT,
    "nl": "Antwoord JA om je aanmelding te bevestigen. Stuur STOP om je af te melden.",
    "de": "Antworten Sie JA, um Ihre Anmeldung zu bestätigen. STOPP zum Abmelden.",
    "fr": "Répondez OUI pour confirmer votre inscription. STOP pour vous désinscrire.",
    "es": "Responde SI para confirmar tu suscripción. BAJA para darte de baja.",
}
MAX_WORD = 64


@dataclass(frozen=True)
class RuleSpec:
    word: str
    actions: Sequence[Mapping[str, Any]] = ()
    reply: str | None = None
    language: str = "en"
    modem_id: str | None = None
    double_opt_in: bool = False
    confirm_prompt: str | None = None


@dataclass(frozen=True)
class Match:
    """What a keyword did: the messages it queued."""

    rule_id: int
    queued: list[str]


def create_rule(
    s: Session,
    spec: RuleSpec,
    *,
    now: datetime,
    consent_settings: ConsentSettings,
    egress_policy: egress.EgressPolicy | None = None,
    api_key_id: int | None = None,
) -> KeywordRule:
    """Store a keyword rule (flushed). InvalidInput for a word that is empty, too long, a
    built-in STOP/START/HELP word or taken on that modem, an unknown action or a missing target."""
    word = spec.word.strip()
    key = normalise_keyword(word)
    if not key or len(word) > MAX_WORD:
        raise InvalidInput("word", f"1 to {MAX_WORD} characters with a letter or digit")
    if (builtin := classify(word, consent_settings)) is not None:
        raise InvalidInput("word", f"{word!r} is the built-in {builtin.kind.upper()} keyword")
    taken = select(KeywordRule.id).where(KeywordRule.key == key)
    taken = taken.where(KeywordRule.modem_id == spec.modem_id if spec.modem_id else col(KeywordRule.modem_id).is_(None))
    if s.exec(taken).first() is not None:
        raise InvalidInput("word", f"{word!r} is already a keyword" + (f" on {spec.modem_id}" if spec.modem_id else ""))
    actions = [_check_action(s, i, a, egress_policy, api_key_id) for i, a in enumerate(spec.actions)]
    if spec.double_opt_in and not any(a["type"] == "opt_in" for a in actions):
        raise InvalidInput("double_opt_in", "needs an opt_in action")
    if spec.reply is not None:
        templates.compile_template(spec.reply, field="reply")
    row = KeywordRule(
        word=word, key=key, language=spec.language, modem_id=spec.modem_id, actions=actions, reply=spec.reply,
        double_opt_in=spec.double_opt_in, confirm_prompt=spec.confirm_prompt, api_key_id=api_key_id, created_at=now,
    )  # fmt: skip
    s.add(row)
    s.flush()
    return row


def all_rules(s: Session) -> list[KeywordRule]:
    return list(s.exec(select(KeywordRule).order_by(col(KeywordRule.id))))


def delete_rule(s: Session, rule_id: int) -> None:
    s.delete(get_or_raise(s, KeywordRule, rule_id, "keyword"))
    s.flush()


def find_rule(s: Session, text: str, modem_id: str) -> KeywordRule | None:
    """The rule a whole message is on `modem_id` (that modem's own first), or None."""
    if len(text) > MAX_WORD:
        return None
    key = normalise_keyword(text)
    if not key:
        return None
    rules = s.exec(
        select(KeywordRule).where(
            KeywordRule.key == key,
            KeywordRule.enabled == True,  # noqa: E712
            sa.or_(col(KeywordRule.modem_id) == modem_id, col(KeywordRule.modem_id).is_(None)),
        )
    ).all()
    return min(rules, key=lambda r: r.modem_id is None, default=None)


def apply(
    s: Session,
    rule: KeywordRule,
    number: str,
    message: InboundMessage,
    *,
    now: datetime,
    default_time_zone: str,
    public_url: str = "",
) -> Match:
    """Run a matched rule for the E.164 `number` (flushed, not committed)."""
    assert rule.id is not None
    contact = _contact(s, number, now, default_time_zone)
    _announce(s, rule, number, message, now)
    if rule.double_opt_in:
        s.add(
            KeywordConfirmation(
                number=number, rule_id=rule.id, proof=message.text, inbound_message_id=message.id,
                created_at=now, expires_at=now + CONFIRM_WINDOW,
            )
        )  # fmt: skip
        prompt = rule.confirm_prompt or CONFIRM_PROMPTS.get(rule.language, DEFAULT_CONFIRM_PROMPT)
        return Match(rule.id, [queue_text(s, number, prompt, now=now, contact_id=contact.id)])
    return Match(rule.id, _run(s, rule, contact, proof=message.text, now=now, public_url=public_url))


def confirm(
    s: Session, number: str, text: str, *, now: datetime, default_time_zone: str, public_url: str = ""
) -> Match | None:
    """A YES that answers a double opt-in of `number`: consent and the rule's actions. None otherwise."""
    if normalise_keyword(text) not in CONFIRM_WORDS:
        return None
    pending = s.exec(
        select(KeywordConfirmation)
        .where(
            KeywordConfirmation.number == number,
            col(KeywordConfirmation.confirmed_at).is_(None),
            col(KeywordConfirmation.expires_at) > now,
        )
        .order_by(col(KeywordConfirmation.id).desc())
    ).first()
    if pending is None:
        return None
    rule = s.get(KeywordRule, pending.rule_id)
    if rule is None:
        return None
    pending.confirmed_at = now
    s.add(pending)
    contact = _contact(s, number, now, default_time_zone)
    return Match(
        pending.rule_id, _run(s, rule, contact, proof=f"{pending.proof} / {text}", now=now, public_url=public_url)
    )


# --- helpers ------------------------------------------------------------------------------


def _run(s: Session, rule: KeywordRule, contact: Contact, *, proof: str, now: datetime, public_url: str) -> list[str]:
    assert contact.id is not None
    queued: list[str] = []
    started: list[int] = []
    for action in rule.actions:
        kind = action["type"]
        if kind == "opt_in":
            if consent.consent_state(s, contact.number) != "opt_in":
                consent.record_consent(
                    s, contact.number, "opt_in", source=f"keyword:{rule.word}", proof=proof, now=now,
                    contact_id=contact.id,
                )  # fmt: skip
        elif kind == "list_add":
            contacts.add_members(s, action["list_id"], [contact.id], now=now)
        elif kind == "list_remove":
            contacts.remove_members(s, action["list_id"], [contact.id])
        elif kind == "set_field":
            contact.custom_fields = {**contact.custom_fields, action["field"]: action["value"]}
            contact.updated_at = now
            s.add(contact)
        elif kind == "start_sequence":
            enrollment = sequences.enroll(s, action["sequence_id"], contact, now=now, properties={"keyword": rule.word})
            started.append(enrollment.id)  # type: ignore[arg-type]
        elif kind == "start_survey":
            queued += surveys.start(s, action["survey_id"], contact, now=now)
    s.flush()
    if rule.reply:
        values = templates.contact_values(contact.number, contact.first_name, contact.last_name, contact.custom_fields)
        text = templates.compile_template(rule.reply, field="reply").render(values)
        queued.insert(0, queue_text(s, contact.number, text, now=now, contact_id=contact.id))
    # A sequence whose first step is due at once (a welcome) sends it now, after the reply.
    queued += sequences.queue_due(s, now=now, public_url=public_url, only=started)
    return queued


def _contact(s: Session, number: str, now: datetime, default_time_zone: str) -> Contact:
    found = contacts.find_contact(s, number)
    if found is not None:
        return found
    return contacts.create_contact(s, contacts.ContactData(number), now=now, default_time_zone=default_time_zone)


def _announce(s: Session, rule: KeywordRule, number: str, message: InboundMessage, now: datetime) -> None:
    data = {"keyword": rule.word, "rule_id": rule.id, "number": number, "modem": message.modem_id,
            "inbound_message_id": message.id, "at": now.isoformat()}  # fmt: skip
    webhooks.enqueue(s, "keyword.matched", data, now=now)
    for action in rule.actions:
        if action["type"] == "webhook" and rule.api_key_id is not None:
            webhooks.enqueue(
                s, "keyword.matched", data, now=now, api_key_id=rule.api_key_id, callback_url=action["url"]
            )


def _check_action(
    s: Session, i: int, raw: Mapping[str, Any], policy: egress.EgressPolicy | None, api_key_id: int | None
) -> dict[str, Any]:
    where = f"actions[{i}]"
    kind = raw.get("type")
    if kind not in ACTION_TYPES:
        raise InvalidInput(f"{where}.type", f"one of {', '.join(ACTION_TYPES)}")
    targets: dict[str, tuple[str, type]] = {
        "list_add": ("list_id", ContactList), "list_remove": ("list_id", ContactList),
        "start_sequence": ("sequence_id", DripSequence), "start_survey": ("survey_id", Survey),
    }  # fmt: skip
    if kind in targets:
        name, model = targets[kind]
        target = raw.get(name)
        if not isinstance(target, int) or isinstance(target, bool):
            raise InvalidInput(f"{where}.{name}", "an id")
        get_or_raise(s, model, target, name.removesuffix("_id"))
        return {"type": kind, name: target}
    if kind == "set_field":
        field, value = raw.get("field"), raw.get("value")
        checked = contacts.check_fields({field: value}) if isinstance(field, str) else None
        if not checked or not isinstance(field, str):
            raise InvalidInput(f"{where}.field", "a field name with a text, number or true/false value")
        return {"type": kind, "field": field, "value": checked[field]}
    if kind == "webhook":
        url = raw.get("url")
        if not isinstance(url, str) or policy is None or api_key_id is None:
            raise InvalidInput(f"{where}.url", "a URL the gateway may post to")
        return {"type": kind, "url": egress.check_url(url, policy, field=f"{where}.url")}
    return {"type": kind}
