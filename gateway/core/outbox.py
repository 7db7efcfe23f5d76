"""The durable outbox: messages go in with `submit`, senders take them with `claim`.

Goals: nothing lost, nothing doubled.

- `submit` encodes every part first (bad text fails there, with PduError) and commits the
  message and all its parts in one transaction before it returns: once the caller says
  202, the message is on disk. `insert_many` is the bulk way in (a campaign's expansion):
  the same rows, built by the same function, in the caller's transaction.
- A message is in the hands of at most one sender at a time: `claim` gives it out under a
  lease (`lease_owner`, `lease_until`). A lease that runs out without `finish`, `release`
  or `fail` means its holder died or hung; the message becomes claimable again.
- All parts of a message go through one modem (the handset reassembles by sender): the
  first `record_sent` pins the message to its modem (`modem_id`), and only that modem
  may claim it again. The pin is lifted only by `release(resend_whole=True)`, which
  replaces the unsent parts by a new generation of all parts with a new concatenation
  reference, for any modem.
- `record_sent` commits a part's `+CMGS: <mr>` in its own short transaction, and the
  sender sends the next part only after it returned. So after a crash the only part of a
  message that may have reached the network without a record is the first part still
  `sending` without an MR; `recover` flags exactly that one as uncertain and puts the
  message back in the queue. Every other unsent part is known not to have gone out.

The claim
---------
A fast modem claims several messages in one transaction (`claim_many`: what it sends in
about a second, gateway.core.policy.claim_batch), in the queue's order. Only the first
one's parts become `sending` at the claim; each of the others is started, its parts
`sending`, in the transaction that commits the previous message's last MR (or by `start`),
so after a crash the messages claimed but never started have no part flagged as possibly
sent. The last part's MR and the message's `finish` commit together (`record_last_sent`).

For each message, the statements are:

    SELECT id FROM message
     WHERE status IN ('queued', 'sending') AND next_attempt_at <= :now
       AND (status = 'queued' OR lease_until <= :now)      -- a lapsed lease is up for grabs
       AND valid_until > :now                              -- expired ones wait for expire()
       AND (modem_id IS NULL OR modem_id = :modem)         -- pinned where its parts went
       AND (requested_modem IS NULL OR requested_modem = :modem)
     ORDER BY priority, next_attempt_at, created_at, id
     LIMIT 1
     FOR UPDATE SKIP LOCKED                               -- PostgreSQL only
    UPDATE message SET status = 'sending', lease_owner = :owner,
           lease_until = next_attempt_at = :now + :lease, attempts = attempts + 1 ...
    UPDATE part SET status = 'sending' ... (its unsent parts), then read them

The queue's order is strict priority, then due time: `priority` is set when a message is
stored, from what it is (`models.PRIORITIES`): 0 the answer to a STOP/START/HELP, 1
transactional (one-time codes, order updates: the API's default category), 2 marketing
(campaigns and other bulk). Of the due messages, a lower class goes only when no higher one
is due, so a code submitted during a 10,000-message campaign is the next message each modem
claims (it waits only for what the modem claimed before it: about a second of its sends), and
a STOP confirmation goes before both. Nothing is aged: marketing waits as
long as transactional traffic keeps every modem busy, which is the point (DESIGN.md,
"Priorities"); a message not due yet (backoff, send window, a paused campaign) holds
nothing up. Within a class: by due time, then submission time. The claim reads one class
at a time (`priority = :p`), highest first: each is a range of `ix_message_queue` that ends
at the first row not yet due, so a claim never walks the rows behind it (on PostgreSQL, a
range over a later column only would be read whole, with the versions that claims and
sends leave behind until vacuum).

PostgreSQL (READ COMMITTED): `FOR UPDATE` locks the chosen row until commit; `SKIP
LOCKED` makes a concurrent claimer pass over rows another claimer holds instead of
queueing behind it, so N workers claim N different messages without waiting on each
other. A row that a competitor changed and committed after our snapshot is re-checked
against the WHERE clause once locked (PostgreSQL's EvalPlanQual) and dropped when it no
longer qualifies, so a message is never handed out twice.

SQLite has a single writer. The claim's transaction starts with `BEGIN IMMEDIATE`
(gateway.core.db.transaction), which takes the write lock before the SELECT: no other write
can come between the choice and the UPDATE. Concurrent claimers queue on the lock (busy
timeout) and each sees the previous one's committed result; the claim is three short
statements, so the queue is brief. `FOR UPDATE` compiles to nothing there.

While a message is `sending`, `next_attempt_at` equals `lease_until`: one index then finds
both the due queued messages and the lapsed leases. It is `ix_message_queue`, on (priority,
next_attempt_at, created_at, id) of the waiting rows only (partial: `WHERE status IN
('queued', 'sending')`, spelt in the query word for word, as the planners want), so the
claim walks it in the ORDER BY's order and stops at the first row that fits, however much
history the table holds: SQLite skips through the few priorities (`ANY(priority) AND
next_attempt_at<?`), PostgreSQL scans the index in order; neither sorts. Pins and validity
are filtered on the few due rows found.

Retries: `release(error=...)` counts a failed attempt and schedules the next one after an
exponential backoff (`RetryPolicy`), or ends the message as `failed` after
`max_attempts` or as `expired` when the next attempt would fall after `valid_until`.
`release(error=None)` gives a message back without counting an attempt.

History: every counted attempt that ends leaves one `message_attempt` row (modem, time,
outcome, error), written by `_attempt_ended` (the only writer) in the same transaction:
`finish`, `release` with an error and `fail` end the attempt of a live sender; an attempt
whose sender is gone (its lease taken back by `recover`, by a `claim` that hands the
message out again, suppresses it or gives up on it, or by `expire`) ends `interrupted`,
naming the part that may have reached the network. A lapsed message a claim only defers
stays `sending`, its attempt not ended yet. `last_error` is the error of the message's current state only: cleared
when it is sent, kept in the history.

Time is injected: every function takes `now` (aware UTC; `submit` falls back to the
system clock), so tests move time by hand and never sleep. A lease must outlast the
longest time a sender can spend on a message between renewals, modem timeouts included:
a sender that overruns it may find its unpinned message taken over by another modem.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, col, select

from drivers.sms import EncodingChoice, choose_encoding, encode_submit, estimate, plan
from gateway.core import dlr, webhooks
from gateway.core.claimpolicy import ALLOW_ALL, ClaimPolicy
from gateway.core.db import lock_for, transaction
from gateway.core.errors import IdempotencyConflict, InvalidInput, NotFound
from gateway.core.models import (
    CATEGORIES,
    PRIORITIES,
    WAITING,
    AttemptOutcome,
    Category,
    Message,
    MessageAttempt,
    MessageStatus,
    Part,
    new_message_id,
    priority_of,
    utcnow,
)
from gateway.core.reports import StatusSubject, rematch_in, settle_in

__all__ = [
    "Submission",
    "Draft",
    "Claim",
    "ClaimedPart",
    "Recovery",
    "RetryPolicy",
    "DEFAULT_LEASE",
    "DEFAULT_RETRY",
    "DEFAULT_VALIDITY",
    "submit",
    "queue_keyword_reply",
    "insert_many",
    "get_message",
    "message_parts",
    "message_attempts",
    "claim",
    "record_sent",
    "record_last_sent",
    "start",
    "claim_many",
    "renew",
    "finish",
    "release",
    "fail",
    "expire",
    "recover",
    "due_targets",
    "parts_sent_since",
]

DEFAULT_VALIDITY = timedelta(days=2)
# Longer than sending every part of a long message at a slow SIM's pace plus a modem's
# command timeout; `record_sent(lease=...)` / `renew` extend it while a sender works.
DEFAULT_LEASE = timedelta(minutes=5)
KEYWORD_REPLY_VALIDITY = timedelta(hours=24)  # a confirmation days late is worse than none
MIN_VALIDITY = timedelta(minutes=5)  # 3GPP TS 23.040 §9.2.3.12.1: the shortest relative TP-VP
UNCERTAIN = "may have reached the network before its sender stopped; sent again"

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")  # ITU-T E.164: at most 15 digits
_UNSENT = ("pending", "sending")
_MESSAGE: sa.Table = Message.__table__  # type: ignore[attr-defined]
_PART: sa.Table = Part.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: the n-th failed attempt waits first_delay * factor**(n-1), capped."""

    first_delay: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    max_delay: timedelta = timedelta(hours=1)
    max_attempts: int = 6

    def delay(self, attempts: int) -> timedelta:
        """Wait after `attempts` failed attempts (1 for the first failure)."""
        return min(self.max_delay, self.first_delay * self.factor ** max(0, attempts - 1))


DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class Submission:
    """What `submit` stored (or found stored under the same idempotency key)."""

    message: Message
    parts: list[Part]
    created: bool  # False: an earlier request with the same idempotency key stored it


@dataclass(frozen=True, slots=True)
class Draft:
    """One message to queue, before it is encoded: what `insert_many` (and `submit`) store.

    Validity counts from `due`, the first time it may be sent (now when None). The
    columns from `campaign_id` on belong to the producer that queues it (for a campaign:
    its campaign, variant, recipient contact and their zone, and why the first due time
    was moved); the outbox stores them as given and reads none of them.
    """

    recipient: str  # E.164
    text: str
    request_hash: str  # tells a retried request from a new one; a bulk producer names itself
    category: Category = "transactional"
    encoding: EncodingChoice = "auto"
    validity: timedelta = DEFAULT_VALIDITY
    due: datetime | None = None
    concat_ref: int | None = None  # the parts' 8-bit concatenation reference; None: a random one
    api_key_id: int | None = None
    idempotency_key: str | None = None
    requested_modem: str | None = None
    callback_url: str | None = None
    keyword_reply: bool = False
    campaign_id: int | None = None
    variant_id: int | None = None
    contact_id: int | None = None
    time_zone: str | None = None
    held_reason: str | None = None
    # National shift tables the recipient may read ([sms] languages) and whether the text may
    # be transliterated to save parts; the stored text is what is sent.
    languages: tuple[str, ...] = ()
    transliterate: bool = False
    message_class: int | None = None  # TS 23.038 §4: 0 shows at once (flash) … 3; None: none
    id: str = field(default_factory=new_message_id)


@dataclass(frozen=True)
class ClaimedPart:
    part_id: int
    seq: int
    pdu: str
    tpdu_length: int
    message_reference: int | None  # set: already sent (an earlier attempt); do not send again

    @property
    def sent(self) -> bool:
        return self.message_reference is not None


@dataclass(frozen=True)
class Claim:
    """A message leased to one sender: send the unsent parts, in order, through `modem_id`."""

    message_id: str
    recipient: str
    modem_id: str
    owner: str
    lease_until: datetime
    attempt: int  # 1 for the first attempt
    generation: int
    parts: tuple[ClaimedPart, ...]


@dataclass(frozen=True)
class Recovery:
    """What `recover` gave back to the queue."""

    messages: tuple[str, ...]
    # Parts that were between AT+CMGS and its commit when their sender stopped: the only
    # parts the resend may double (at most one per message).
    uncertain_parts: tuple[int, ...]


# --- submitting ---------------------------------------------------------------------------


def submit(
    session: Session,
    *,
    api_key_id: int | None,
    recipient: str,
    text: str,
    idempotency_key: str | None = None,
    category: Category = "transactional",
    modem: str | None = None,
    validity: timedelta = DEFAULT_VALIDITY,
    callback_url: str | None = None,
    encoding: EncodingChoice = "auto",
    time_zone: str | None = None,
    languages: Sequence[str] = (),
    transliterate: bool = False,
    message_class: int | None = None,
    now: datetime | None = None,
    attach: Callable[[str], Iterable[SQLModel]] | None = None,
) -> Submission:
    """Store a message and its encoded parts; return them and whether they were created now.

    Commits before returning (a transaction already open on `session`, e.g. from reading
    the API key, is committed first). The same `idempotency_key` with the same request
    returns the stored message (created False); with a different request it raises
    IdempotencyConflict. Raises InvalidInput (recipient not E.164, blank text, unknown
    category, bad validity) or PduError (text that cannot be encoded, more than 255 parts), storing nothing.
    `time_zone` is the recipient's, for the send window of a marketing message. `languages`
    and `transliterate` are the `[sms]` settings: the stored text is the one sent.
    `message_class` 0–3 sets the data coding scheme's class (0: a flash message).
    `attach(message_id)` gives rows stored in the same transaction as a new message (what
    must exist before it can be sent, e.g. a delivery-report URL: gateway.core.dlr).
    """
    now = now or utcnow()
    _check(recipient, category, validity)
    if message_class is not None and message_class not in range(4):
        raise InvalidInput("message_class", "0 (flash) to 3")
    if not text.strip():
        raise InvalidInput("text", "empty or only whitespace: an SMS needs text")
    draft = Draft(
        recipient, text, _request_hash(recipient, text, category, modem, validity, callback_url, encoding, message_class),
        category=category, encoding=encoding, validity=validity, api_key_id=api_key_id,
        idempotency_key=idempotency_key, requested_modem=modem, callback_url=callback_url, time_zone=time_zone,
        languages=tuple(languages), transliterate=transliterate, message_class=message_class,
    )  # fmt: skip
    message, parts = _new_message(draft, now)
    if session.in_transaction():
        session.commit()
    session.add(message)
    session.add_all(parts)
    try:
        if attach is not None:
            session.flush()  # the message first: attached rows refer to it
            session.add_all(list(attach(message.id)))
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        existing = _by_idempotency_key(session, api_key_id, idempotency_key)
        if existing is None:
            raise
        if existing.request_hash != message.request_hash:
            raise IdempotencyConflict(idempotency_key or "", existing.id) from None
        return Submission(existing, message_parts(session, existing.id), created=False)
    return Submission(message, parts, created=True)


def queue_keyword_reply(session: Session, recipient: str, text: str, *, now: datetime) -> Message:
    """Queue the answer to a STOP, START or HELP in the caller's transaction (no commit).

    It goes to the number that wrote, suppressed or not (the STOP confirmation is the one
    message an opted-out number still gets) and is never held by consent checks.
    """
    draft = Draft(recipient, text, "keyword-reply", validity=KEYWORD_REPLY_VALIDITY, keyword_reply=True)
    message, parts = _new_message(draft, now)
    session.add(message)
    session.add_all(parts)
    session.flush()
    return message


def insert_many(conn: Connection | Session, drafts: Sequence[Draft], *, now: datetime) -> int:
    """Queue many messages with one executemany per table, in the caller's transaction
    (no commit); returns how many.

    For bulk producers (a campaign's expansion): no idempotency check and no ORM objects,
    so a batch of thousands costs little more than the raw inserts. Each draft is checked
    and encoded as `submit` does it (InvalidInput, PduError), before anything is written:
    one bad draft stores none of the batch.
    """
    messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for draft in drafts:
        _check(draft.recipient, draft.category, draft.validity)
        message, message_parts = _rows(draft, now)
        messages.append(message)
        parts.extend(message_parts)
    if messages:
        # Core inserts of whole rows: the ORM's unit of work would cost more than the
        # rendering of a campaign (every column is given, so no defaults are missed).
        conn.execute(sa.insert(_MESSAGE), messages)
        conn.execute(sa.insert(_PART), parts)
    return len(messages)


def _new_message(draft: Draft, now: datetime) -> tuple[Message, list[Part]]:
    """A message and its encoded parts as ORM objects (PduError for text that cannot be encoded)."""
    message, parts = _rows(draft, now)
    return Message(**message), [Part(**p) for p in parts]


def _rows(draft: Draft, now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The message row and its part rows for `draft`, every column given: the one place
    that decides what a new message looks like, for `submit` and `insert_many` alike."""
    text, languages = draft.text, draft.languages
    if draft.encoding == "ucs2":
        languages = ()
    elif draft.transliterate:
        text = plan(text, languages=languages, transliterate=True).text
    if languages:
        chosen = estimate(text, draft.encoding, languages=languages).encoding
    else:
        chosen = choose_encoding(text, draft.encoding)
    ref = draft.concat_ref if draft.concat_ref is not None else random.randrange(256)
    encoded = encode_submit(
        draft.recipient, text, encoding=chosen, ref=ref, validity=draft.validity, languages=languages,
        message_class=draft.message_class,
    )  # fmt: skip

    due = draft.due or now
    message = {
        "id": draft.id, "api_key_id": draft.api_key_id, "idempotency_key": draft.idempotency_key,
        "request_hash": draft.request_hash, "recipient": draft.recipient, "text": text, "encoding": chosen,
        "languages": ",".join(languages) or None, "message_class": draft.message_class,
        "category": draft.category, "priority": priority_of(draft.category, keyword_reply=draft.keyword_reply),
        "status": "queued", "requested_modem": draft.requested_modem, "modem_id": None,
        "concat_ref": ref if len(encoded) > 1 else None, "generation": 1, "parts_total": len(encoded),
        "attempts": 0, "next_attempt_at": due, "valid_until": due + draft.validity, "lease_owner": None,
        "lease_until": None, "last_error": None, "callback_url": draft.callback_url,
        "keyword_reply": draft.keyword_reply, "campaign_id": draft.campaign_id, "variant_id": draft.variant_id,
        "contact_id": draft.contact_id, "time_zone": draft.time_zone, "held_reason": draft.held_reason,
        "created_at": now, "updated_at": now, "sent_at": None,
    }  # fmt: skip
    parts = []
    for seq, p in enumerate(encoded, 1):
        parts.append({
            "message_id": draft.id, "generation": 1, "seq": seq, "pdu": p.pdu, "tpdu_length": p.tpdu_length,
            "status": "pending", "attempt": 0, "modem_id": None, "message_reference": None,
            "submitted_at": None, "delivered_at": None, "report_status": None, "error": None,
        })  # fmt: skip
    return message, parts


def get_message(session: Session, message_id: str, *, api_key_id: int | None = None) -> Message:
    """The message, if it exists (and belongs to `api_key_id` when given); else NotFound."""
    message = session.get(Message, message_id)
    if message is None or (api_key_id is not None and message.api_key_id != api_key_id):
        raise NotFound("message", message_id)
    return message


def message_parts(session: Session, message_id: str, *, all_generations: bool = False) -> list[Part]:
    """The message's current parts by seq (with `all_generations`, replaced ones too, oldest first)."""
    query = select(Part).where(Part.message_id == message_id)
    if not all_generations:
        current = select(Message.generation).where(Message.id == message_id).scalar_subquery()
        query = query.where(Part.generation == current)
    return list(session.exec(query.order_by(col(Part.generation), col(Part.seq))))


def message_attempts(session: Session, message_id: str) -> list[MessageAttempt]:
    """How each attempt at sending the message ended, oldest first."""
    query = select(MessageAttempt).where(MessageAttempt.message_id == message_id)
    return list(session.exec(query.order_by(col(MessageAttempt.id))))


# --- sending ------------------------------------------------------------------------------


def claim(
    engine: Engine,
    *,
    modem_id: str,
    owner: str,
    lease: timedelta = DEFAULT_LEASE,
    now: datetime,
    policy: RetryPolicy = DEFAULT_RETRY,
    claim_policy: ClaimPolicy = ALLOW_ALL,
    max_parts: int | None = None,
) -> Claim | None:
    """Lease the first due message `modem_id` may send (by priority, then due time), or None.

    `max_parts`: what is left of the modem's daily cap (gateway.core.dailycap). Only a
    message whose unsent parts fit is handed out, so the cap is never crossed and a
    multipart message never cut; a larger one stays for a modem with more room, or for
    tomorrow. None: no limit.

    `claim_policy` is asked about each due message first (`gateway.core.claimpolicy`): a
    message it suppresses (with the gateway's marketing rules: a recipient who opted out,
    marketing without consent, a campaign's frequency cap) ends `suppressed` here instead,
    and one it defers (a campaign message outside its send window) waits until it is due.

    A message whose attempts are used up without an answer (its senders stopped or hung
    while sending it, each time) is failed here instead of handed out once more: a
    message that kills its sender must not kill every restart.
    """
    claims = claim_many(
        engine, modem_id=modem_id, owner=owner, lease=lease, now=now, policy=policy,
        claim_policy=claim_policy, max_parts=max_parts, max_messages=1,
    )  # fmt: skip
    return claims[0] if claims else None


def claim_many(
    engine: Engine,
    *,
    modem_id: str,
    owner: str,
    lease: timedelta = DEFAULT_LEASE,
    now: datetime,
    policy: RetryPolicy = DEFAULT_RETRY,
    claim_policy: ClaimPolicy = ALLOW_ALL,
    max_parts: int | None = None,
    max_messages: int = 1,
) -> list[Claim]:
    """`claim` for up to `max_messages` messages in one transaction, in the queue's order:
    what a fast modem sends next, for the cost of one claim. Empty when nothing is due.

    Their unsent parts together stay within `max_parts`. At most one message per recipient
    is taken at a time: a frequency cap counts the messages being sent, so a second one to
    the same number is screened only after the first is leased (it waits for the next claim).
    """
    until = now + lease
    while True:
        leased: list[sa.Row[Any]] = []
        closed = 0
        with transaction(engine) as conn:
            rows = _first_due(conn, modem_id, now, max_parts, max(1, max_messages))
            if not rows:
                return []
            recipients: set[str] = set()
            room = max_parts
            for row in rows:
                lapsed = row.status == "sending"
                if row.recipient in recipients:
                    continue
                # A message pinned here after some parts went out needs only its unsent ones;
                # the first row is known to fit (the query checked it), the others count whole.
                need = row.parts_total
                if room is not None and leased and need > room:
                    break
                if not row.keyword_reply and row.modem_id is None:
                    # Consent, send window and frequency cap are checked now, not at submit:
                    # a STOP that came in while the message waited stops it, and a campaign
                    # message due at night waits for morning. (Once parts went out, the rest
                    # follow.) The policy records its own hold.
                    decision = claim_policy.screen(conn, row, now=now)
                    if decision.action != "allow":
                        if decision.action == "suppress":
                            if lapsed:
                                _interrupted(conn, row, now)
                            _close(conn, row, "suppressed", f"not sent: {decision.describe()}", now)
                        closed += 1
                        continue
                if row.attempts >= policy.max_attempts:
                    if lapsed:
                        _interrupted(conn, row, now)
                    error = f"gave up after {row.attempts} attempts that ended without an answer"
                    if row.last_error:
                        error += f"; the last error: {row.last_error}"
                    _close(conn, row, "failed", error, now)
                    closed += 1
                    continue
                if lapsed:
                    _interrupted(conn, row, now)
                recipients.add(row.recipient)
                leased.append(row)
                if room is not None:
                    room = max(0, room - need)
            if leased:
                return _lease(conn, leased, modem_id=modem_id, owner=owner, until=until, now=now)
        if not closed:
            return []  # every due row was held back for this claim (a recipient twice)


def _lease(
    conn: Connection, rows: Sequence[sa.Row[Any]], *, modem_id: str, owner: str, until: datetime, now: datetime
) -> list[Claim]:
    conn.execute(
        _LEASE_MESSAGE,
        [{"b_id": r.id, "b_owner": owner, "b_until": until, "b_attempts": r.attempts + 1, "b_now": now} for r in rows],
    )
    # Only the first goes out now: the parts of the others become `sending` when each is
    # started (`start`, or with the previous message's last MR), so after a crash only a
    # message that was started can have a part flagged as possibly sent.
    first = rows[0]
    conn.execute(_LEASE_PARTS, {"b_id": first.id, "b_generation": first.generation, "b_attempt": first.attempts + 1})
    parts: dict[str, list[ClaimedPart]] = {r.id: [] for r in rows}
    generation = {r.id: r.generation for r in rows}
    for p in conn.execute(_CLAIMED_PARTS, {"ids": list(parts)}):
        if p.generation == generation[p.message_id]:
            parts[p.message_id].append(ClaimedPart(p.id, p.seq, p.pdu, p.tpdu_length, p.message_reference))
    return [
        Claim(
            message_id=r.id,
            recipient=r.recipient,
            modem_id=modem_id,
            owner=owner,
            lease_until=until,
            attempt=r.attempts + 1,
            generation=r.generation,
            parts=tuple(parts[r.id]),
        )
        for r in rows
    ]


def record_sent(
    engine: Engine, part_id: int, *, mr: int, modem_id: str, now: datetime, lease: timedelta | None = None
) -> None:
    """Commit a part's `+CMGS: <mr>`; call before sending the next part.

    Pins the message to `modem_id` (if not pinned yet) and, with `lease`, extends the
    sender's lease to now + lease. Recorded even when the lease was lost: the part went out.
    A status report for it that came in first is attached in the same transaction.
    """
    with transaction(engine) as conn:
        message_id, _ = _record(conn, part_id, mr, modem_id, now)
        if lease is None:
            conn.execute(_PIN, {"b_id": message_id, "b_modem": modem_id, "b_now": now})
        else:
            conn.execute(
                _PIN_AND_EXTEND, {"b_id": message_id, "b_modem": modem_id, "b_now": now, "b_until": now + lease}
            )


def record_last_sent(
    engine: Engine,
    part_id: int,
    *,
    mr: int,
    modem_id: str,
    now: datetime,
    owner: str | None = None,
    then: str | None = None,
) -> bool:
    """`record_sent` of a message's last unsent part and `finish` of its message, in one
    transaction: what a sender commits after the last `+CMGS` of a message. Returns what
    `finish` returns; the part is recorded (and the message pinned) either way. `then`:
    the message the sender (`modem_id`) starts next, `start`ed in the same transaction."""
    with transaction(engine) as conn:
        message_id, rematched = _record(conn, part_id, mr, modem_id, now)
        finished = _finish(conn, message_id, now=now, owner=owner, modem_id=modem_id, reports=rematched > 0)
        if not finished:
            conn.execute(_PIN, {"b_id": message_id, "b_modem": modem_id, "b_now": now})
        if then is not None:
            conn.execute(_START, {"b_id": then, "b_owner": modem_id})  # its claims are the modem's
        return finished


def start(engine: Engine, message_id: str, *, owner: str) -> None:
    """Mark the unsent parts of a message `owner` claimed with others as `sending`: its
    sender is about to send them (see `claim_many`). Nothing when `owner` no longer holds it."""
    with transaction(engine) as conn:
        conn.execute(_START, {"b_id": message_id, "b_owner": owner})


def _record(conn: Connection, part_id: int, mr: int, modem_id: str, now: datetime) -> tuple[str, int]:
    """The part's MR in the caller's transaction; its message's id and how many early
    status reports were attached to it."""
    if not 0 <= mr <= 255:
        raise InvalidInput("mr", f"{mr} is not a TP-MR (0..255)")  # 3GPP TS 23.040 §9.2.3.6
    lock_for(conn, modem_id, mr)  # against a report for (modem, MR) stored meanwhile
    message_id = conn.execute(_RECORD_PART, {"b_id": part_id, "b_mr": mr, "b_modem": modem_id, "b_now": now}).scalar()
    if message_id is None:
        raise NotFound("part", part_id)
    return message_id, rematch_in(conn, modem_id, mr, now=now)


def renew(engine: Engine, message_id: str, *, owner: str, lease: timedelta = DEFAULT_LEASE, now: datetime) -> bool:
    """Extend `owner`'s lease to now + lease; False when `owner` no longer holds it."""
    with transaction(engine) as conn:
        return _extend(conn, message_id, owner, now + lease)


def finish(engine: Engine, message_id: str, *, now: datetime, owner: str | None = None) -> bool:
    """Mark a message `sent` once every current part has its MR; end the lease.

    Reports that came in while it was being sent are counted at once (a message whose
    parts were all delivered meanwhile ends `delivered`), and its `message.status` event
    is queued in the same transaction. False (and nothing changed) when a part has no MR
    yet, or the message is not being sent (by `owner`, when given).
    """
    with transaction(engine) as conn:
        return _finish(conn, message_id, now=now, owner=owner)


def _finish(
    conn: Connection,
    message_id: str,
    *,
    now: datetime,
    owner: str | None,
    modem_id: str | None = None,
    reports: bool = True,
) -> bool:
    """`finish` in the caller's transaction; with `modem_id`, the message is pinned to it
    too. `reports` False: no status report can have reached its parts yet (a single-part
    message whose only part was recorded in this transaction, with none attached)."""
    statement = {
        (False, False): _FINISH, (True, False): _FINISH_HELD,
        (False, True): _FINISH_PINNED, (True, True): _FINISH_PINNED_HELD,
    }[(owner is not None, modem_id is not None)]  # fmt: skip
    row = conn.execute(statement, {"b_id": message_id, "b_now": now, "b_owner": owner, "b_modem": modem_id}).first()
    if row is None:
        return False
    # The row is locked by the UPDATE: a report applied meanwhile waits, then sees `sent`.
    message = StatusSubject(**{f.name: getattr(row, f.name) for f in fields(StatusSubject)})
    if reports or row.parts_total > 1:
        message = settle_in(conn, message, now=now)
    _attempt_ended(conn, row, "failed" if message.status == "failed" else "sent", message.last_error, now)
    if message.status != "sent":
        dlr.on_submitted(conn, message, now=now)  # it was sent, before it was settled
    webhooks.message_status(conn, message, now=now)
    return True


def release(
    engine: Engine,
    message_id: str,
    *,
    now: datetime,
    error: str | None = None,
    retry_at: datetime | None = None,
    resend_whole: bool = False,
    owner: str | None = None,
    policy: RetryPolicy = DEFAULT_RETRY,
) -> MessageStatus | None:
    """Give a message being sent back to the queue; return its new status.

    With `error`, the attempt counts: the next one is due at `retry_at` or after the
    policy's backoff; the message is `failed` after `policy.max_attempts` attempts, and
    `expired` when the next attempt would fall after its validity. Without `error` the
    attempt is not counted and it is due at once (or at `retry_at`).

    `resend_whole` lifts the modem pin and replaces the parts with a new generation (new
    concatenation reference), for a multipart message that must move to another modem
    after some parts went out. Parts already sent keep their records (their reports still
    match them). None (and nothing changed) when the message is not being sent (by `owner`).
    """
    with transaction(engine) as conn:
        msg = conn.execute(
            sa.select(Message).where(col(Message.id) == message_id, col(Message.status) == "sending", *_held_by(owner))
        ).first()
        if msg is None:
            return None
        attempts = msg.attempts if error is not None else max(0, msg.attempts - 1)
        if error is not None and attempts >= policy.max_attempts:
            _attempt_ended(conn, msg, "failed", error, now)
            _close(conn, msg, "failed", error, now)
            return "failed"
        due = retry_at or (now + policy.delay(attempts) if error is not None else now)
        if due >= msg.valid_until:
            if error is not None:
                _attempt_ended(conn, msg, "expired", error, now)
            _close(conn, msg, "expired", error or msg.last_error, now)
            return "expired"
        if error is not None:
            _attempt_ended(conn, msg, "retry", error, now)
        conn.execute(
            _current_parts_update(message_id, msg.generation)
            .where(col(Part.status) == "sending")
            .values(status="pending")
        )
        conn.execute(
            sa.update(Message)
            .where(col(Message.id) == message_id)
            .values(**_queued_at(due), attempts=attempts, last_error=error or msg.last_error, updated_at=now)
        )
        if resend_whole:
            _new_generation(conn, msg, now)
        return "queued"


def fail(engine: Engine, message_id: str, *, error: str, now: datetime, owner: str | None = None) -> bool:
    """End a queued or sending message as `failed` (a permanent error); False if it was neither."""
    with transaction(engine) as conn:
        statuses = ("sending",) if owner is not None else ("queued", "sending")
        msg = conn.execute(
            sa.select(Message).where(col(Message.id) == message_id, col(Message.status).in_(statuses), *_held_by(owner))
        ).first()
        if msg is None:
            return False
        if msg.status == "sending":
            _attempt_ended(conn, msg, "failed", error, now)
        _close(conn, msg, "failed", error, now)
        return True


# --- housekeeping -------------------------------------------------------------------------


def expire(engine: Engine, *, now: datetime) -> list[str]:
    """End as `expired` every waiting message whose validity has passed; return their ids.

    Waiting: queued, or sending under a lease that has lapsed. Run it periodically
    (claim never hands out an expired message, but leaves it for this).
    """
    with transaction(engine) as conn:
        rows = conn.execute(
            sa.select(Message)
            .where(
                col(Message.valid_until) <= now,
                sa.or_(
                    col(Message.status) == "queued",
                    sa.and_(col(Message.status) == "sending", col(Message.lease_until) <= now),
                ),
            )
            .with_for_update(skip_locked=True)
        ).all()
        for msg in rows:
            if msg.status == "sending":
                _interrupted(conn, msg, now)
            _close(conn, msg, "expired", msg.last_error, now)
    return [msg.id for msg in rows]


def recover(engine: Engine, *, now: datetime, owners: Collection[str] = ()) -> Recovery:
    """At start: put back in the queue every message whose sender is gone.

    Gone: its lease has lapsed, or it is held by one of `owners` — the owner names this
    process used before it stopped (stable names, e.g. its modem ids), so its own work
    comes back at once instead of when the leases run out. Leases of other live
    processes on the same database are left alone.

    Of such a message, parts with an MR stay sent (the pin to their modem stays), and
    parts still `sending` without an MR go back to `pending`; it is due again at once, in
    its place by submission time. Sending is sequential and
    each MR is committed before the next part, so only the first of those can have
    reached the network; it is reported in `uncertain_parts` and flagged in its `error`.
    Those are the only parts the resend may double. A multipart message whose uncertain
    part is its first is pinned to the modem (of `owners`) that was sending it.
    """
    with transaction(engine) as conn:
        gone = sa.or_(col(Message.lease_until) <= now, col(Message.lease_owner).in_(list(owners)))
        rows = conn.execute(
            sa.select(
                col(Message.id),
                col(Message.generation),
                col(Message.attempts),
                col(Message.parts_total),
                col(Message.lease_owner),
                col(Message.modem_id),
            )
            .where(col(Message.status) == "sending", gone)
            .with_for_update(skip_locked=True)
        ).all()
        uncertain = []
        for row in rows:
            part_id = _interrupted(conn, row, now)
            if part_id is not None:
                uncertain.append(part_id)
                if row.parts_total > 1 and row.modem_id is None and row.lease_owner in owners:
                    # Its first part may be out through that modem: the rest go the same
                    # way, so a resent part 1 repeats a segment the handset already has
                    # (same sender, same reference) instead of starting an orphan elsewhere.
                    conn.execute(sa.update(Message).where(Message.id == row.id).values(modem_id=row.lease_owner))
            conn.execute(
                _current_parts_update(row.id, row.generation)
                .where(col(Part.status) == "sending")
                .values(status="pending")
            )
        if rows:
            # Back in its place in the queue (by when it was submitted), not behind
            # everything that came in before the restart.
            conn.execute(
                sa.update(Message)
                .where(col(Message.id).in_([row.id for row in rows]))
                .values(**_queued_at(Message.created_at), updated_at=now)
            )
    return Recovery(tuple(row.id for row in rows), tuple(uncertain))


def due_targets(engine: Engine, *, now: datetime, limit: int = 64) -> list[str | None]:
    """For up to `limit` messages a claim would find now, in the claim's order: the modem
    each must go through (pinned or requested), None for any modem. A read, no lock: the
    gateway asks it to know which idle workers to wake for work another node queued."""
    target = sa.func.coalesce(col(Message.modem_id), col(Message.requested_modem))
    query = (
        sa.select(target)
        .where(
            sa.text(WAITING),
            col(Message.next_attempt_at) <= now,
            sa.or_(col(Message.status) == "queued", col(Message.lease_until) <= now),
            col(Message.valid_until) > now,
        )
        .order_by(col(Message.priority), col(Message.next_attempt_at), col(Message.created_at), col(Message.id))
        .limit(limit)
    )
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(query)]


def parts_sent_since(engine: Engine, since: dict[str, datetime]) -> dict[str, int]:
    """Parts each modem sent from its time on (the start of its day): its daily count
    after a restart, so a cap is not crossed by starting again."""
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for modem_id, start in since.items():
            counts[modem_id] = conn.execute(
                sa.select(sa.func.count(col(Part.id))).where(
                    col(Part.modem_id) == modem_id, col(Part.submitted_at) >= start
                )
            ).scalar_one()
    return counts


# --- helpers ------------------------------------------------------------------------------


def _check(recipient: str, category: str, validity: timedelta) -> None:
    if not _E164.match(recipient):
        raise InvalidInput("recipient", f"{recipient!r} is not an E.164 number (+ and 7 to 15 digits)")
    if category not in CATEGORIES:
        raise InvalidInput("category", f"{category!r}: use one of {', '.join(CATEGORIES)}")
    if validity < MIN_VALIDITY:
        raise InvalidInput("validity", f"{validity} is shorter than {MIN_VALIDITY}")


def _request_hash(
    recipient: str,
    text: str,
    category: str,
    modem: str | None,
    validity: timedelta,
    callback_url: str | None,
    encoding: str,
    message_class: int | None = None,
) -> str:
    request = {
        "recipient": recipient,
        "text": text,
        "category": category,
        "modem": modem,
        "validity": validity.total_seconds(),
        "callback_url": callback_url,
        "encoding": encoding,
    }
    if message_class is not None:  # absent otherwise: hashes of earlier requests stay valid
        request["message_class"] = message_class
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode("utf-8")).hexdigest()


def _by_idempotency_key(session: Session, api_key_id: int | None, key: str | None) -> Message | None:
    if key is None:
        return None
    query = select(Message).where(Message.api_key_id == api_key_id, Message.idempotency_key == key)
    return session.exec(query).first()


def _due(
    modem_id: str, now: datetime, max_parts: int | None, limit: int, priority: int
) -> tuple[sa.Select[Any], dict[str, Any]]:
    """The claim's query for one priority class (see "The claim") and its values."""
    params = {"modem": modem_id, "now": now, "limit": limit, "priority": priority}
    if max_parts is None:
        return _DUE, params
    return _DUE_WITHIN, {**params, "max_parts": max_parts}


def _first_due(
    conn: Connection, modem_id: str, now: datetime, max_parts: int | None, limit: int
) -> Sequence[sa.Row[Any]]:
    """Due rows of the highest priority class that has any, in the claim's order: one
    index range per class, which ends at the first row not yet due."""
    for priority in _CLASSES:
        rows = conn.execute(*_due(modem_id, now, max_parts, limit, priority)).all()
        if rows:
            return rows
    return []


def _due_query(*, within: bool) -> sa.Select[Any]:
    m = _MESSAGE.c
    now = sa.bindparam("now", type_=m.next_attempt_at.type)
    modem = sa.bindparam("modem", type_=m.modem_id.type)
    query = (
        sa.select(
            m.id, m.status, m.attempts, m.recipient, m.category, m.keyword_reply, m.modem_id, m.campaign_id,
            m.generation, m.parts_total, m.lease_owner, m.last_error,
        )
        .where(
            sa.text(WAITING),  # word for word the partial index's condition
            m.next_attempt_at <= now,
            sa.or_(m.status == "queued", m.lease_until <= now),
            m.valid_until > now,
            sa.or_(m.modem_id.is_(None), m.modem_id == modem),
            sa.or_(m.requested_modem.is_(None), m.requested_modem == modem),
        )
        .where(m.priority == sa.bindparam("priority", type_=sa.Integer))
        .order_by(m.next_attempt_at, m.created_at, m.id)
        # Written into the statement: a plan made for unknown values could scan the table.
        .limit(sa.bindparam("limit", type_=sa.Integer, literal_execute=True))
        .with_for_update(skip_locked=True)
    )  # fmt: skip
    if not within:
        return query
    # A message pinned here after some parts went out needs only its unsent ones.
    max_parts = sa.bindparam("max_parts", type_=sa.Integer)
    p = _PART.c
    unsent = (
        sa.select(sa.func.count(p.id))
        .where(p.message_id == m.id, p.generation == m.generation, p.message_reference.is_(None))
        .scalar_subquery()
    )
    return query.where(sa.or_(m.parts_total <= max_parts, sa.and_(m.modem_id == modem, unsent <= max_parts)))


# The statements of the sending path, built once: SQLAlchemy then finds each one's compiled
# form by a key it has already computed, instead of building and hashing a statement per part.
_DUE = _due_query(within=False)
_CLASSES = sorted(set(PRIORITIES.values()))
_DUE_WITHIN = _due_query(within=True)

_LEASE_MESSAGE = (
    sa.update(_MESSAGE)
    .where(_MESSAGE.c.id == sa.bindparam("b_id"))
    .values(
        status="sending",
        lease_owner=sa.bindparam("b_owner"),
        lease_until=sa.bindparam("b_until", type_=_MESSAGE.c.lease_until.type),
        next_attempt_at=sa.bindparam("b_until", type_=_MESSAGE.c.lease_until.type),
        attempts=sa.bindparam("b_attempts"),
        updated_at=sa.bindparam("b_now", type_=_MESSAGE.c.updated_at.type),
    )
)
_LEASE_PARTS = (
    sa.update(_PART)
    .where(
        _PART.c.message_id == sa.bindparam("b_id"),
        _PART.c.generation == sa.bindparam("b_generation"),
        sa.or_(_PART.c.status == "pending", _PART.c.status == "sending"),
    )
    .values(status="sending", attempt=sa.bindparam("b_attempt"))
)
_HELD = (
    sa.select(_MESSAGE.c.generation)
    .where(_MESSAGE.c.id == sa.bindparam("b_id"), _MESSAGE.c.status == "sending")
    .where(_MESSAGE.c.lease_owner == sa.bindparam("b_owner"))
    .scalar_subquery()
)
_START = (
    sa.update(_PART)
    .where(_PART.c.message_id == sa.bindparam("b_id"), _PART.c.generation == _HELD, _PART.c.status == "pending")
    .values(
        status="sending",
        attempt=sa.select(_MESSAGE.c.attempts).where(_MESSAGE.c.id == sa.bindparam("b_id")).scalar_subquery(),
    )
)
# Every generation's parts (the caller keeps the current one's): a join to the messages
# could be planned as a scan of the whole message table.
_CLAIMED_PARTS = (
    sa.select(
        _PART.c.message_id, _PART.c.generation, _PART.c.id, _PART.c.seq, _PART.c.pdu, _PART.c.tpdu_length,
        _PART.c.message_reference,
    )
    .where(_PART.c.message_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(_PART.c.message_id, _PART.c.seq)
)  # fmt: skip
_RECORD_PART = (
    sa.update(_PART)
    .where(_PART.c.id == sa.bindparam("b_id"))
    .values(
        status="sent",
        message_reference=sa.bindparam("b_mr"),
        modem_id=sa.bindparam("b_modem"),
        submitted_at=sa.bindparam("b_now", type_=_PART.c.submitted_at.type),
        error=None,
    )
    .returning(_PART.c.message_id)
)
_SENDING = _MESSAGE.c.status == "sending"
_PIN = (
    sa.update(_MESSAGE)
    .where(_MESSAGE.c.id == sa.bindparam("b_id"))
    .values(
        modem_id=sa.func.coalesce(_MESSAGE.c.modem_id, sa.bindparam("b_modem", type_=_MESSAGE.c.modem_id.type)),
        updated_at=sa.bindparam("b_now", type_=_MESSAGE.c.updated_at.type),
    )
)
# The pin, and the sender's lease extended while it still holds the message.
_PIN_AND_EXTEND = _PIN.values(
    lease_until=sa.case(
        (_SENDING, sa.bindparam("b_until", type_=_MESSAGE.c.lease_until.type)), else_=_MESSAGE.c.lease_until
    ),
    next_attempt_at=sa.case(
        (_SENDING, sa.bindparam("b_until", type_=_MESSAGE.c.lease_until.type)), else_=_MESSAGE.c.next_attempt_at
    ),
)
_UNSENT_PART = (
    sa.select(_PART.c.id)
    .where(
        _PART.c.message_id == _MESSAGE.c.id,
        _PART.c.generation == _MESSAGE.c.generation,
        _PART.c.message_reference.is_(None),
    )
    .exists()
)
# What finishing reads back: the attempt's record and the status event need these.
_FINISHED_COLUMNS = (
    _MESSAGE.c.id, _MESSAGE.c.status, _MESSAGE.c.recipient, _MESSAGE.c.text, _MESSAGE.c.modem_id,
    _MESSAGE.c.sent_at, _MESSAGE.c.last_error, _MESSAGE.c.api_key_id, _MESSAGE.c.callback_url,
    _MESSAGE.c.generation, _MESSAGE.c.attempts, _MESSAGE.c.parts_total, _MESSAGE.c.lease_owner,
)  # fmt: skip
_FINISH_VALUES = {
    "status": "sent",
    "sent_at": sa.bindparam("b_now", type_=_MESSAGE.c.sent_at.type),
    "lease_owner": None,
    "lease_until": None,
    "last_error": None,
    "updated_at": sa.bindparam("b_now", type_=_MESSAGE.c.updated_at.type),
}
_FINISH = (
    sa.update(_MESSAGE)
    .where(_MESSAGE.c.id == sa.bindparam("b_id"), _SENDING, ~_UNSENT_PART)
    .values(**_FINISH_VALUES)
    .returning(*_FINISHED_COLUMNS)
)
_FINISH_HELD = _FINISH.where(_MESSAGE.c.lease_owner == sa.bindparam("b_owner"))
# The last part's record and the finish in one statement: the pin goes with them.
_FINISH_PINNED = _FINISH.values(
    modem_id=sa.func.coalesce(_MESSAGE.c.modem_id, sa.bindparam("b_modem", type_=_MESSAGE.c.modem_id.type))
)
_FINISH_PINNED_HELD = _FINISH_PINNED.where(_MESSAGE.c.lease_owner == sa.bindparam("b_owner"))
_ATTEMPT: sa.Table = MessageAttempt.__table__  # type: ignore[attr-defined]
_ATTEMPT_ENDED = sa.insert(_ATTEMPT).values(
    message_id=sa.bindparam("b_id"), attempt=sa.bindparam("b_attempt"), modem_id=sa.bindparam("b_modem"),
    outcome=sa.bindparam("b_outcome"), error=sa.bindparam("b_error"),
    at=sa.bindparam("b_now", type_=_ATTEMPT.c.at.type),
)  # fmt: skip


def _held_by(owner: str | None) -> tuple[sa.ColumnElement[bool], ...]:
    return () if owner is None else (col(Message.lease_owner) == owner,)


def _current_parts_update(message_id: str, generation: int) -> sa.Update:
    return sa.update(Part).where(col(Part.message_id) == message_id, col(Part.generation) == generation)


def _extend(conn: Connection, message_id: str, owner: str | None, until: datetime) -> bool:
    result = conn.execute(
        sa.update(Message)
        .where(col(Message.id) == message_id, col(Message.status) == "sending", *_held_by(owner))
        .values(**_lease_until(until))
    )
    return result.rowcount == 1


# While a message is `sending`, next_attempt_at equals lease_until (one index finds due
# messages and lapsed leases alike, see "The claim"): every change of hands goes through
# these three, so that rule is kept in one place.


def _leased_to(owner: str, until: datetime) -> dict[str, Any]:
    return {"status": "sending", "lease_owner": owner, **_lease_until(until)}


def _lease_until(until: datetime) -> dict[str, Any]:
    return {"lease_until": until, "next_attempt_at": until}


def _queued_at(due: Any) -> dict[str, Any]:
    """Back in the queue, held by nobody, due at `due` (a time or a column)."""
    return {"status": "queued", "lease_owner": None, "lease_until": None, "next_attempt_at": due}


def _interrupted(conn: Connection, msg: Any, now: datetime) -> int | None:
    """End the attempt at `msg` (left `sending` by a sender that is gone) as `interrupted`:
    flag the first part left `sending` without an MR (it may have gone out) and return it."""
    part = conn.execute(
        sa.select(col(Part.id), col(Part.seq))
        .where(
            col(Part.message_id) == msg.id,
            col(Part.generation) == msg.generation,
            col(Part.status) == "sending",
            col(Part.message_reference).is_(None),
        )
        .order_by(col(Part.seq))
        .limit(1)
    ).first()
    error = "its sender stopped before the attempt ended"
    if part is not None:
        conn.execute(sa.update(Part).where(col(Part.id) == part.id).values(error=UNCERTAIN))
        error += f"; part {part.seq} may have reached the network (a resend may repeat it)"
    _attempt_ended(conn, msg, "interrupted", error, now)
    return None if part is None else part.id


def _attempt_ended(conn: Connection, msg: Any, outcome: AttemptOutcome, error: str | None, now: datetime) -> None:
    """Record how the current attempt at `msg` (a message row being sent) ended."""
    conn.execute(
        _ATTEMPT_ENDED,
        {"b_id": msg.id, "b_attempt": msg.attempts, "b_modem": msg.modem_id or msg.lease_owner,
         "b_outcome": outcome, "b_error": error, "b_now": now},
    )  # fmt: skip


def _close(
    conn: Connection, msg: sa.Row[*tuple[Any, ...]], status: MessageStatus, error: str | None, now: datetime
) -> None:
    """End a message as failed, expired or suppressed; its unsent parts end the same way
    (`cancelled` for a suppressed one: they were never meant to go)."""
    conn.execute(
        _current_parts_update(msg.id, msg.generation)
        .where(col(Part.status).in_(_UNSENT))
        .values(status="cancelled" if status == "suppressed" else status, error=error)
    )
    conn.execute(
        sa.update(Message)
        .where(Message.id == msg.id)
        .values(status=status, lease_owner=None, lease_until=None, last_error=error, updated_at=now)
    )
    with Session(bind=conn) as s:  # the event commits with the change it reports
        closed = s.get_one(Message, msg.id)
        webhooks.message_status(s, closed, now=now)
        s.flush()


def _new_generation(conn: Connection, msg: sa.Row[*tuple[Any, ...]], now: datetime) -> None:
    """Replace the message's parts for a whole resend on any modem."""
    replaced = _current_parts_update(msg.id, msg.generation).where(col(Part.status).in_(_UNSENT))
    conn.execute(replaced.values(status="cancelled"))
    ref = (msg.concat_ref if msg.concat_ref is not None else 0) + random.randrange(1, 256)
    ref %= 256
    remaining = max(MIN_VALIDITY, msg.valid_until - now)
    encoded = encode_submit(
        msg.recipient, msg.text, encoding=msg.encoding, ref=ref, validity=remaining,
        languages=tuple(msg.languages.split(",")) if msg.languages else (), message_class=msg.message_class,
    )  # fmt: skip
    generation = msg.generation + 1
    conn.execute(
        sa.insert(Part),
        [
            {"message_id": msg.id, "generation": generation, "seq": seq, "pdu": p.pdu, "tpdu_length": p.tpdu_length}
            for seq, p in enumerate(encoded, 1)
        ],
    )
    conn.execute(
        sa.update(Message)
        .where(Message.id == msg.id)
        .values(
            generation=generation,
            concat_ref=ref if len(encoded) > 1 else None,
            parts_total=len(encoded),
            modem_id=None,
            updated_at=now,
        )
    )
