"""The outbox: nothing lost (committed at submit), nothing doubled (one claimer, one modem,
each MR committed before the next part; after a crash only the in-flight part is resent)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from drivers import PduError
from drivers.sms import decode_pdu, encode_status_report
from gateway.audience import consent
from gateway.campaigns.compliance import CompliancePolicy
from gateway.core import outbox, reports
from gateway.core.db import session
from gateway.core.errors import IdempotencyConflict, InvalidInput, NotFound
from gateway.core.models import ApiKey, Message, Part, Webhook, WebhookDelivery
from gateway.core.reports import store_report
from tests.support.clock import T0, FakeClock

TO = "+31612345678"
LONG = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 6  # 3 GSM-7 parts


@pytest.fixture
def key(engine: Engine) -> int:
    with session(engine) as s:
        row = ApiKey(name="app", prefix="abcd1234", key_hash="h", created_at=T0)
        s.add(row)
        s.commit()
        assert row.id is not None
        return row.id


def submit(engine: Engine, clock: FakeClock, key: int | None = None, **kw) -> outbox.Message:
    kw.setdefault("recipient", TO)
    kw.setdefault("text", "hello")
    with session(engine) as s:
        submitted = outbox.submit(s, api_key_id=key, now=clock(), **kw)
        assert submitted.created
        assert [p.seq for p in submitted.parts] == list(range(1, submitted.message.parts_total + 1))
        return submitted.message


def load(engine: Engine, message_id: str) -> tuple[Message, list[Part]]:
    with session(engine) as s:
        return outbox.get_message(s, message_id), outbox.message_parts(s, message_id)


def count(engine: Engine, table: type) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def send_all(engine: Engine, claim: outbox.Claim, clock: FakeClock, first_mr: int = 0) -> None:
    for i, part in enumerate(p for p in claim.parts if not p.sent):
        outbox.record_sent(engine, part.part_id, mr=(first_mr + i) % 256, modem_id=claim.modem_id, now=clock())
    assert outbox.finish(engine, claim.message_id, now=clock(), owner=claim.owner)


# --- submit -------------------------------------------------------------------------------


def test_submit_commits_the_message_and_its_encoded_parts_before_returning(engine, clock, key):
    message = submit(engine, clock, key, text=LONG, callback_url="https://app.example/cb")
    # Another connection sees everything at once: nothing waits for a later commit.
    stored, parts = load(engine, message.id)
    assert (stored.status, stored.recipient, stored.encoding, stored.parts_total) == ("queued", TO, "gsm7", 3)
    assert stored.created_at == stored.next_attempt_at == T0
    assert stored.valid_until == T0 + outbox.DEFAULT_VALIDITY
    assert [p.seq for p in parts] == [1, 2, 3] and {p.status for p in parts} == {"pending"}
    decoded = [decode_pdu(p.pdu) for p in parts]
    assert "".join(d.text for d in decoded) == LONG
    assert {(d.concat.ref, d.concat.total) for d in decoded} == {(stored.concat_ref, 3)}
    assert all(d.number == TO and d.status_report_request for d in decoded)
    assert [p.tpdu_length for p in parts] == [len(bytes.fromhex(p.pdu)) - 1 for p in parts]


def test_the_same_idempotency_key_and_request_returns_the_stored_message(engine, clock, key):
    first = submit(engine, clock, key, idempotency_key="order-17")
    with session(engine) as s:
        again = outbox.submit(s, api_key_id=key, recipient=TO, text="hello", idempotency_key="order-17")
    assert (again.message.id, again.created, len(again.parts)) == (first.id, False, 1)
    assert count(engine, Message) == 1 and count(engine, Part) == 1


def test_the_same_idempotency_key_with_another_request_is_a_conflict(engine, clock, key):
    first = submit(engine, clock, key, idempotency_key="order-17")
    with session(engine) as s, pytest.raises(IdempotencyConflict) as caught:
        outbox.submit(s, api_key_id=key, recipient=TO, text="hello again", idempotency_key="order-17")
    assert caught.value.message_id == first.id and caught.value.code == "idempotency_conflict"
    assert count(engine, Message) == 1


def test_idempotency_keys_belong_to_one_api_key(engine, clock, key):
    with session(engine) as s:
        other = ApiKey(name="other", prefix="zzzz9999", key_hash="h2", created_at=T0)
        s.add(other)
        s.commit()
    a = submit(engine, clock, key, idempotency_key="same")
    b = submit(engine, clock, other.id, idempotency_key="same")
    assert a.id != b.id


def test_racing_submits_with_one_idempotency_key_store_one_message(engine, clock, key):
    results: list[tuple[str, bool]] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        barrier.wait()
        with session(engine) as s:
            submitted = outbox.submit(s, api_key_id=key, recipient=TO, text="hi", idempotency_key="k", now=T0)
            results.append((submitted.message.id, submitted.created))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({mid for mid, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert count(engine, Message) == 1


@pytest.mark.parametrize("number", ["0612345678", "+0612345678", "+3161", "+31 6 12345678", "+1234567890123456", ""])
def test_a_recipient_not_in_e164_is_refused_and_nothing_is_stored(engine, clock, key, number):
    with session(engine) as s, pytest.raises(InvalidInput) as caught:
        outbox.submit(s, api_key_id=key, recipient=number, text="hi", now=clock())
    assert caught.value.field == "recipient"
    assert count(engine, Message) == count(engine, Part) == 0


@pytest.mark.parametrize("text", ["", " ", "  \n\t \r\n", "\u3000"])
def test_blank_text_is_refused_and_nothing_is_stored(engine, clock, key, text):
    with session(engine) as s, pytest.raises(InvalidInput) as caught:
        outbox.submit(s, api_key_id=key, recipient=TO, text=text, now=clock())
    assert caught.value.field == "text"
    assert count(engine, Message) == count(engine, Part) == 0


def test_text_that_does_not_fit_the_forced_alphabet_is_refused_and_nothing_is_stored(engine, clock, key):
    with session(engine) as s, pytest.raises(PduError):
        outbox.submit(s, api_key_id=key, recipient=TO, text="smile 😀", encoding="gsm7", now=clock())
    assert count(engine, Message) == count(engine, Part) == 0


def test_text_longer_than_255_parts_is_refused_and_nothing_is_stored(engine, clock, key):
    with session(engine) as s, pytest.raises(PduError, match="255"):
        outbox.submit(s, api_key_id=key, recipient=TO, text="x" * (153 * 255 + 1), now=clock())
    assert count(engine, Message) == count(engine, Part) == 0


def test_the_longest_message_is_stored_with_all_255_parts(engine, clock, key):
    message = submit(engine, clock, key, text="x" * (153 * 255))
    assert message.parts_total == 255 and count(engine, Part) == 255


@pytest.mark.parametrize(
    "option", [{"category": "spam"}, {"validity": timedelta(minutes=1)}], ids=["category", "validity"]
)
def test_an_unknown_category_or_too_short_validity_is_refused(engine, clock, key, option):
    with session(engine) as s, pytest.raises(InvalidInput):
        outbox.submit(s, api_key_id=key, recipient=TO, text="hi", now=clock(), **option)
    assert count(engine, Message) == 0


def test_an_unknown_message_is_not_found(engine, key):
    with session(engine) as s, pytest.raises(NotFound):
        outbox.get_message(s, "00000000-0000-0000-0000-000000000000")


def test_a_message_is_not_found_through_another_api_key(engine, clock, key):
    message = submit(engine, clock, key)
    with session(engine) as s, pytest.raises(NotFound):
        outbox.get_message(s, message.id, api_key_id=key + 1)


# --- insert_many --------------------------------------------------------------------------


def _columns(row: Message | Part, *skip: str) -> dict:
    return {k: v for k, v in row.model_dump().items() if k not in skip}


def test_insert_many_stores_the_rows_submit_stores_for_the_same_message(engine, clock, key):
    submitted = submit(engine, clock, key, text=LONG, callback_url="https://app.example/cb")
    first, first_parts = load(engine, submitted.id)
    draft = outbox.Draft(
        TO, LONG, first.request_hash, api_key_id=key, callback_url="https://app.example/cb", concat_ref=first.concat_ref
    )
    with engine.begin() as conn:
        assert outbox.insert_many(conn, [draft], now=clock()) == 1
    second, second_parts = load(engine, draft.id)
    # One function builds both: every column alike but the key, and the idempotency key (none here).
    assert _columns(second, "id") == _columns(first, "id")
    assert [_columns(p, "id", "message_id") for p in second_parts] == [
        _columns(p, "id", "message_id") for p in first_parts
    ]


def test_insert_many_keeps_the_producers_columns_and_counts_validity_from_the_first_due_time(engine, clock):
    due = clock() + timedelta(hours=3)
    drafts = [
        outbox.Draft(f"+3161234567{i}", f"hi {i}", "campaign:7", category="marketing", due=due, time_zone="Europe/Amsterdam",
                     variant_id=i, contact_id=100 + i, held_reason="send_window")
        for i in range(3)
    ]  # fmt: skip
    with engine.begin() as conn:
        assert outbox.insert_many(conn, drafts, now=clock()) == 3
    with session(engine) as s:
        rows = s.exec(sa.select(Message).order_by(Message.contact_id)).scalars().all()
    assert [(m.contact_id, m.variant_id, m.time_zone, m.held_reason) for m in rows] == [
        (100 + i, i, "Europe/Amsterdam", "send_window") for i in range(3)
    ]
    assert {(m.status, m.category, m.next_attempt_at, m.valid_until, m.created_at) for m in rows} == {
        ("queued", "marketing", due, due + outbox.DEFAULT_VALIDITY, T0)
    }
    assert count(engine, Part) == 3


@pytest.mark.parametrize(
    "bad",
    [{"recipient": "0612345678"}, {"category": "spam"}, {"validity": timedelta(minutes=1)}, {"text": "x" * 40_000}],
    ids=["recipient", "category", "validity", "too-long"],
)
def test_one_bad_draft_stores_none_of_the_batch(engine, clock, bad):
    fields = {"recipient": TO, "text": "hi", "request_hash": "bulk", **bad}
    drafts = [outbox.Draft(TO, "fine", "bulk"), outbox.Draft(**fields)]
    with pytest.raises((InvalidInput, PduError)), engine.begin() as conn:
        outbox.insert_many(conn, drafts, now=clock())
    assert count(engine, Message) == count(engine, Part) == 0


# --- claim --------------------------------------------------------------------------------


def test_claim_leases_the_oldest_due_message(engine, clock, key):
    first = submit(engine, clock, key, text=LONG)
    clock.advance(seconds=1)
    submit(engine, clock, key)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", lease=timedelta(minutes=2), now=clock())
    assert claim is not None and claim.message_id == first.id
    assert (claim.recipient, claim.attempt, claim.modem_id) == (TO, 1, "m1")
    assert claim.lease_until == clock() + timedelta(minutes=2)
    assert [p.seq for p in claim.parts] == [1, 2, 3] and not any(p.sent for p in claim.parts)
    stored, parts = load(engine, first.id)
    assert (stored.status, stored.lease_owner, stored.attempts) == ("sending", "m1", 1)
    assert {p.status for p in parts} == {"sending"}


def test_claim_serves_keyword_replies_then_transactional_then_marketing_each_oldest_first(engine, clock, key):
    # A running campaign's messages were queued first, the replies and codes after them.
    with engine.begin() as conn:
        drafts = [outbox.Draft(f"+3161000{i:04d}", "sale", "campaign", category="marketing") for i in range(3)]
        outbox.insert_many(conn, drafts, now=clock())
    clock.advance(seconds=1)
    code = submit(engine, clock, key, text="your code is 1234").id
    clock.advance(seconds=1)
    with session(engine) as s:
        reply = outbox.queue_keyword_reply(s, TO, "You will get no more messages.", now=clock()).id
        s.commit()
    clock.advance(seconds=1)
    later_code = submit(engine, clock, key, text="your code is 5678").id
    with engine.connect() as conn:
        marketing = list(
            conn.execute(
                sa.select(Message.id).where(Message.category == "marketing").order_by(Message.created_at, Message.id)
            ).scalars()
        )
        priorities = {row.id: row.priority for row in conn.execute(sa.select(Message.id, Message.priority))}
    assert [priorities[i] for i in (reply, code, later_code, *marketing)] == [0, 1, 1, 2, 2, 2]

    order = []
    while (claim := outbox.claim(engine, modem_id="m1", owner="m1", now=clock())) is not None:
        order.append(claim.message_id)
        send_all(engine, claim, clock)
    assert order == [reply, code, later_code, *marketing]


def test_a_message_not_due_yet_does_not_hold_up_lower_ones(engine, clock, key):
    # Strict priority is among due messages: a code in backoff lets the campaign go on.
    with engine.begin() as conn:
        outbox.insert_many(conn, [outbox.Draft(TO, "sale", "campaign", category="marketing")], now=clock())
    code = submit(engine, clock, key, text="your code is 1234")
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert claim is not None and claim.message_id == code.id
    assert outbox.release(engine, code.id, now=clock(), error="+CMS ERROR: 500") == "queued"
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert claim is not None and claim.message_id != code.id


def test_the_claim_walks_the_queue_index_in_order_on_both_databases(engine, clock, key):
    # Thousands due, most of them history: the claim's plan is an ordered walk of
    # ix_message_queue (waiting messages only) that stops at the first fit, never a sort.
    with engine.begin() as conn:
        drafts = [outbox.Draft(f"+3161{i:07d}", "sale", "campaign", category="marketing") for i in range(400)]
        drafts += [outbox.Draft(f"+3162{i:07d}", "code", "app") for i in range(400)]
        outbox.insert_many(conn, drafts, now=clock())
        conn.execute(sa.update(Message).where(Message.recipient.like("+3162%")).values(status="delivered"))
        conn.exec_driver_sql("ANALYZE" if engine.dialect.name == "sqlite" else "ANALYZE message")
    plan: list[str] = []
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT message.id, message.status"):
            cursor.execute(explain + statement, parameters)
            plan.extend(str(row[-1]) for row in cursor.fetchall())
        return statement, parameters

    sa.event.listen(engine, "before_cursor_execute", capture, retval=True)
    try:
        claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    assert claim is not None
    text = "\n".join(plan)
    assert "ix_message_queue" in text, text
    assert "TEMP B-TREE" not in text and "Sort" not in text, text


def test_claim_returns_none_when_nothing_is_due(engine, clock, key):
    assert outbox.claim(engine, modem_id="m1", owner="m1", now=clock()) is None
    submit(engine, clock, key)
    assert outbox.claim(engine, modem_id="m1", owner="m1", now=clock() - timedelta(seconds=1)) is None


def test_each_message_goes_to_exactly_one_of_many_concurrent_claimers(engine, clock, key):
    # SQLite has one writer: two threads show its claim is still exclusive.
    claimers = 8 if engine.dialect.name == "postgresql" else 2
    ids = {submit(engine, clock, key, text=f"n{i}").id for i in range(40)}
    claimed: dict[str, list[str]] = {f"m{i}": [] for i in range(claimers)}
    barrier = threading.Barrier(claimers)
    failures: list[BaseException] = []

    def work(modem: str) -> None:
        try:
            barrier.wait()
            while (c := outbox.claim(engine, modem_id=modem, owner=modem, now=clock())) is not None:
                claimed[modem].append(c.message_id)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(m,)) for m in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    every = [mid for got in claimed.values() for mid in got]
    assert sorted(every) == sorted(ids)  # all claimed, none twice


def test_a_row_locked_by_one_claimer_is_skipped_not_waited_for(postgres, clock):
    engine = postgres  # row locks are PostgreSQL's; SQLite serialises whole claims
    first = submit(engine, clock, text="first")
    clock.advance(seconds=1)
    second = submit(engine, clock, text="second")
    got: list[outbox.Claim | None] = []
    with engine.connect() as holder, holder.begin():
        holder.execute(sa.select(Message.id).where(Message.id == first.id).with_for_update())
        claim = lambda: got.append(outbox.claim(engine, modem_id="m2", owner="m2", now=clock()))  # noqa: E731
        thread = threading.Thread(target=claim)
        thread.start()
        thread.join(timeout=5)
        assert not thread.is_alive(), "the claim waited for the locked row"
    assert got[0] is not None and got[0].message_id == second.id


def test_a_live_lease_is_not_taken_and_a_lapsed_one_is(engine, clock, key):
    message = submit(engine, clock, key)
    outbox.claim(engine, modem_id="m1", owner="m1", lease=timedelta(seconds=60), now=clock())
    clock.advance(seconds=59)
    assert outbox.claim(engine, modem_id="m2", owner="m2", now=clock()) is None
    clock.advance(seconds=1)
    again = outbox.claim(engine, modem_id="m2", owner="m2", now=clock())
    assert again is not None and again.message_id == message.id and again.attempt == 2
    stored, _ = load(engine, message.id)
    assert stored.lease_owner == "m2"
    # The first holder's late verdicts no longer count.
    assert outbox.release(engine, message.id, now=clock(), error="late", owner="m1") is None
    assert not outbox.finish(engine, message.id, now=clock(), owner="m1")
    assert not outbox.fail(engine, message.id, error="late", now=clock(), owner="m1")
    assert load(engine, message.id)[0].status == "sending"


def test_a_message_whose_parts_went_out_on_one_modem_is_never_claimed_by_another(engine, clock, key):
    message = submit(engine, clock, key, text=LONG)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", lease=timedelta(seconds=60), now=clock())
    outbox.record_sent(engine, claim.parts[0].part_id, mr=5, modem_id="m1", now=clock())
    assert outbox.release(engine, message.id, now=clock(), error="+CMS ERROR: 42") == "queued"
    clock.advance(hours=2)
    assert outbox.claim(engine, modem_id="m2", owner="m2", now=clock()) is None
    again = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert again is not None and again.message_id == message.id
    assert [(p.sent, p.message_reference) for p in again.parts] == [(True, 5), (False, None), (False, None)]
    # Abandoned (lease lapsed) it stays pinned too.
    clock.advance(hours=1)
    assert outbox.claim(engine, modem_id="m2", owner="m2", now=clock()) is None


def test_a_requested_modem_is_the_only_one_that_sends_it(engine, clock, key):
    message = submit(engine, clock, key, modem="m2")
    assert outbox.claim(engine, modem_id="m1", owner="m1", now=clock()) is None
    claim = outbox.claim(engine, modem_id="m2", owner="m2", now=clock())
    assert claim is not None and claim.message_id == message.id


def test_a_whole_resend_lifts_the_pin_with_new_parts_and_a_new_reference(engine, clock, key):
    message = submit(engine, clock, key, text=LONG)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    outbox.record_sent(engine, claim.parts[0].part_id, mr=9, modem_id="m1", now=clock())
    status = outbox.release(engine, message.id, now=clock(), error="modem gone", retry_at=clock(), resend_whole=True)
    assert status == "queued"
    stored, parts = load(engine, message.id)
    assert (stored.modem_id, stored.generation) == (None, 2) and stored.concat_ref != message.concat_ref
    assert [(p.seq, p.status, p.message_reference) for p in parts] == [(i, "pending", None) for i in (1, 2, 3)]
    assert {decode_pdu(p.pdu).concat.ref for p in parts} == {stored.concat_ref}
    with session(engine) as s:
        old = [p for p in outbox.message_parts(s, message.id, all_generations=True) if p.generation == 1]
    # The part that went out keeps its record (its report still matches); the rest are replaced.
    assert [(p.status, p.message_reference) for p in old] == [("sent", 9), ("cancelled", None), ("cancelled", None)]
    other = outbox.claim(engine, modem_id="m2", owner="m2", now=clock())
    assert other is not None and other.message_id == message.id
    assert [p.part_id for p in other.parts] == [p.id for p in parts] and not any(p.sent for p in other.parts)
    send_all(engine, other, clock)
    assert load(engine, message.id)[0].modem_id == "m2"


# --- sending ------------------------------------------------------------------------------


def test_each_mr_is_committed_before_record_sent_returns(engine, clock, key):
    message = submit(engine, clock, key, text=LONG)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    for i, part in enumerate(claim.parts):
        clock.advance(seconds=10)
        outbox.record_sent(engine, part.part_id, mr=200 + i, modem_id="m1", now=clock())
        # What a crash right now would leave on disk, read through a separate connection:
        _, parts = load(engine, message.id)
        assert [(p.status, p.message_reference) for p in parts[: i + 1]] == [("sent", 200 + j) for j in range(i + 1)]
        assert parts[i].submitted_at == clock() and parts[i].modem_id == "m1"
        assert all(p.status == "sending" and p.message_reference is None for p in parts[i + 1 :])
    assert load(engine, message.id)[0].modem_id == "m1"
    assert outbox.finish(engine, message.id, now=clock(), owner="m1")
    stored, _ = load(engine, message.id)
    assert (stored.status, stored.sent_at, stored.lease_owner) == ("sent", clock(), None)


def test_finish_refuses_while_a_part_has_no_mr(engine, clock, key):
    message = submit(engine, clock, key, text=LONG)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    outbox.record_sent(engine, claim.parts[0].part_id, mr=1, modem_id="m1", now=clock())
    assert not outbox.finish(engine, message.id, now=clock())
    assert load(engine, message.id)[0].status == "sending"


def test_record_sent_extends_the_lease_while_parts_go_out(engine, clock, key):
    message = submit(engine, clock, key, text=LONG)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", lease=timedelta(seconds=60), now=clock())
    for part in claim.parts:
        clock.advance(seconds=50)
        outbox.record_sent(engine, part.part_id, mr=1, modem_id="m1", now=clock(), lease=timedelta(seconds=60))
        assert outbox.claim(engine, modem_id="m1", owner="other", now=clock() + timedelta(seconds=59)) is None
    assert load(engine, message.id)[0].lease_until == clock() + timedelta(seconds=60)
    assert outbox.renew(engine, message.id, owner="m1", lease=timedelta(seconds=90), now=clock())
    assert not outbox.renew(engine, message.id, owner="someone else", now=clock())


def test_record_sent_checks_its_arguments(engine, clock, key):
    with pytest.raises(NotFound):
        outbox.record_sent(engine, 12345, mr=1, modem_id="m1", now=clock())
    with pytest.raises(InvalidInput):
        outbox.record_sent(engine, 1, mr=256, modem_id="m1", now=clock())


def test_claim_many_leases_several_due_messages_in_the_queues_order(engine, clock, key):
    first = submit(engine, clock, key, recipient="+31612000001")
    clock.advance(seconds=1)
    second = submit(engine, clock, key, recipient="+31612000002", text=LONG)
    clock.advance(seconds=1)
    code = submit(engine, clock, key, recipient="+31612000003", category="marketing")
    urgent = submit(engine, clock, key, recipient="+31612000004")  # same class as the first two
    claims = outbox.claim_many(engine, modem_id="m1", owner="m1", now=clock(), max_messages=3)
    assert [c.message_id for c in claims] == [first.id, second.id, urgent.id]  # marketing last
    assert [len(c.parts) for c in claims] == [1, 3, 1]
    assert {load(engine, c.message_id)[0].status for c in claims} == {"sending"}
    assert {c.attempt for c in claims} == {1}
    assert load(engine, code.id)[0].status == "queued"
    assert [
        c.message_id for c in outbox.claim_many(engine, modem_id="m2", owner="m2", now=clock(), max_messages=5)
    ] == [code.id]


def test_claim_many_stays_within_the_daily_cap_left_and_never_cuts_a_message(engine, clock, key):
    one = submit(engine, clock, key, recipient="+31612000001")
    submit(engine, clock, key, recipient="+31612000002", text=LONG)  # 3 parts: not in the 2 left
    claims = outbox.claim_many(engine, modem_id="m1", owner="m1", now=clock(), max_messages=5, max_parts=2)
    assert [c.message_id for c in claims] == [one.id]


def test_claim_many_takes_one_message_per_recipient_at_a_time(engine, clock, key):
    # A frequency cap counts what is being sent: the second is screened after the first is leased.
    first = submit(engine, clock, key, text="one")
    clock.advance(seconds=1)
    second = submit(engine, clock, key, text="two")
    assert [
        c.message_id for c in outbox.claim_many(engine, modem_id="m1", owner="m1", now=clock(), max_messages=5)
    ] == [first.id]
    assert [
        c.message_id for c in outbox.claim_many(engine, modem_id="m1", owner="m1", now=clock(), max_messages=5)
    ] == [second.id]


def test_after_a_crash_only_the_started_message_of_a_claim_may_have_a_part_out(engine, clock, key):
    ids = []
    for i in range(3):
        ids.append(submit(engine, clock, key, recipient=f"+3161200000{i}").id)
        clock.advance(seconds=1)
    first, second, third = outbox.claim_many(engine, modem_id="m1", owner="m1", now=clock(), max_messages=3)
    assert outbox.record_last_sent(
        engine, first.parts[0].part_id, mr=1, modem_id="m1", now=clock(), then=second.message_id
    )
    # The sender died while sending the second: the third was claimed but never started.
    recovered = outbox.recover(engine, now=clock(), owners=["m1"])
    assert set(recovered.messages) == {second.message_id, third.message_id}
    assert recovered.uncertain_parts == (second.parts[0].part_id,)
    assert load(engine, third.message_id)[1][0].error is None


def test_start_marks_the_parts_of_a_message_claimed_with_others(engine, clock, key):
    for i in range(2):
        submit(engine, clock, key, recipient=f"+3161200000{i}")
        clock.advance(seconds=1)
    _, later = outbox.claim_many(engine, modem_id="m1", owner="m1", now=clock(), max_messages=2)
    assert {p.status for p in load(engine, later.message_id)[1]} == {"pending"}
    outbox.start(engine, later.message_id, owner="someone else")  # not theirs: nothing changes
    assert {p.status for p in load(engine, later.message_id)[1]} == {"pending"}
    outbox.start(engine, later.message_id, owner="m1")
    assert [(p.status, p.attempt) for p in load(engine, later.message_id)[1]] == [("sending", 1)]


def test_record_last_sent_commits_the_mr_and_finishes_the_message_in_one_go(engine, clock, key, hook):
    message = submit(engine, clock, key)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    clock.advance(seconds=3)
    assert outbox.record_last_sent(engine, claim.parts[0].part_id, mr=77, modem_id="m1", now=clock(), owner="m1")
    stored, parts = load(engine, message.id)
    assert (stored.status, stored.modem_id, stored.sent_at, stored.lease_owner) == ("sent", "m1", clock(), None)
    assert (parts[0].status, parts[0].message_reference, parts[0].submitted_at) == ("sent", 77, clock())
    with session(engine) as s:
        assert [(a.outcome, a.modem_id) for a in outbox.message_attempts(s, message.id)] == [("sent", "m1")]
    assert status_events(engine, message.id) == ["sent"]


def test_record_last_sent_with_a_lost_lease_records_the_part_but_does_not_finish(engine, clock, key):
    message = submit(engine, clock, key)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert not outbox.record_last_sent(engine, claim.parts[0].part_id, mr=5, modem_id="m1", now=clock(), owner="m9")
    stored, parts = load(engine, message.id)
    assert (stored.status, stored.modem_id) == ("sending", "m1")  # pinned where its part went
    assert (parts[0].status, parts[0].message_reference) == ("sent", 5)


def test_record_last_sent_of_a_part_reported_first_ends_the_message_delivered(engine, clock, key, hook):
    message = submit(engine, clock, key)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    pdu = encode_status_report(12, TO, timestamp=clock(), discharge_time=clock(), status=0)
    store_report(engine, "m1", decode_pdu(pdu), pdu, now=clock())  # the report beat the MR's commit
    assert outbox.record_last_sent(engine, claim.parts[0].part_id, mr=12, modem_id="m1", now=clock())
    assert load(engine, message.id)[0].status == "delivered"
    assert status_events(engine, message.id) == ["delivered"]


# --- crashes ------------------------------------------------------------------------------


def test_after_a_crash_only_the_part_in_flight_may_be_sent_twice(engine, clock, key):
    message = submit(engine, clock, key, text=LONG)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    outbox.record_sent(engine, claim.parts[0].part_id, mr=40, modem_id="m1", now=clock())
    # The process dies while part 2 is between AT+CMGS and its commit. It restarts:
    clock.advance(seconds=5)
    recovery = outbox.recover(engine, now=clock(), owners=["m1", "m2"])
    assert recovery.messages == (message.id,)
    assert recovery.uncertain_parts == (claim.parts[1].part_id,)
    stored, parts = load(engine, message.id)
    assert (stored.status, stored.modem_id, stored.lease_owner) == ("queued", "m1", None)
    assert stored.next_attempt_at == stored.created_at  # its place in the queue, not behind newer ones
    assert [(p.status, p.message_reference) for p in parts] == [("sent", 40), ("pending", None), ("pending", None)]
    assert parts[1].error == outbox.UNCERTAIN and parts[2].error is None
    again = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert [p.seq for p in again.parts if not p.sent] == [2, 3]  # part 1 never again


def test_recover_leaves_the_leases_of_other_live_gateways_alone(engine, clock, key):
    ours = submit(engine, clock, key, text="ours")
    clock.advance(seconds=1)
    theirs = submit(engine, clock, key, text="theirs")
    outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    outbox.claim(engine, modem_id="m9", owner="m9", now=clock())
    recovery = outbox.recover(engine, now=clock(), owners=["m1"])
    assert recovery.messages == (ours.id,)
    assert load(engine, theirs.id)[0].lease_owner == "m9"
    # Once their lease has lapsed, their gateway is presumed dead too.
    clock.advance(minutes=6)
    assert outbox.recover(engine, now=clock()).messages == (theirs.id,)


def test_a_lapsed_claim_flags_the_part_that_may_have_gone_out(engine, clock, key):
    message = submit(engine, clock, key, text=LONG)
    first = outbox.claim(engine, modem_id="m1", owner="m1", lease=timedelta(seconds=30), now=clock())
    clock.advance(seconds=31)
    outbox.claim(engine, modem_id="m1", owner="m1-restarted", now=clock())
    _, parts = load(engine, message.id)
    assert parts[0].id == first.parts[0].part_id and parts[0].error == outbox.UNCERTAIN
    assert [p.attempt for p in parts] == [2, 2, 2]


# --- retries and expiry -------------------------------------------------------------------


def test_retries_back_off_exponentially_on_the_injected_clock(engine, clock, key):
    policy = outbox.RetryPolicy(first_delay=timedelta(seconds=30), factor=2, max_delay=timedelta(minutes=3))
    message = submit(engine, clock, key)
    waits = []
    for _ in range(5):
        claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
        assert claim is not None and claim.message_id == message.id
        assert outbox.release(engine, message.id, now=clock(), error="+CMS ERROR: 500", policy=policy) == "queued"
        due = load(engine, message.id)[0].next_attempt_at
        waits.append((due - clock()).total_seconds())
        assert outbox.claim(engine, modem_id="m1", owner="m1", now=due - timedelta(microseconds=1)) is None
        clock.current = due
    assert waits == [30, 60, 120, 180, 180]
    stored, parts = load(engine, message.id)
    assert (stored.attempts, stored.last_error) == (5, "+CMS ERROR: 500")
    assert parts[0].status == "pending"


def test_a_message_sent_after_a_failed_attempt_keeps_that_error_only_in_its_history(engine, clock, key):
    message = submit(engine, clock, key)
    outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert outbox.release(engine, message.id, now=clock(), error="+CMS ERROR: 500") == "queued"
    assert load(engine, message.id)[0].last_error == "+CMS ERROR: 500"  # while it waits
    clock.advance(minutes=5)
    claim = outbox.claim(engine, modem_id="m2", owner="m2", now=clock())
    assert claim is not None
    send_all(engine, claim, clock)
    stored, _ = load(engine, message.id)
    assert (stored.status, stored.last_error) == ("sent", None)
    with session(engine) as s:
        history = [(a.attempt, a.modem_id, a.outcome, a.error, a.at) for a in outbox.message_attempts(s, message.id)]
    assert history == [(1, "m1", "retry", "+CMS ERROR: 500", T0), (2, "m2", "sent", None, clock())]


def test_every_failed_attempt_is_in_the_history_up_to_the_failure(engine, clock, key):
    policy = outbox.RetryPolicy(max_attempts=2, first_delay=timedelta(seconds=30))
    message = submit(engine, clock, key)
    outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    outbox.release(engine, message.id, now=clock(), error="+CMS ERROR: 38", policy=policy)
    clock.advance(minutes=1)
    outbox.claim(engine, modem_id="m1", owner="m1", now=clock(), policy=policy)
    assert outbox.release(engine, message.id, now=clock(), error="+CMS ERROR: 42", policy=policy) == "failed"
    other = submit(engine, clock, key, text="another")
    outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert outbox.fail(engine, other.id, error="+CMS ERROR: 21", now=clock())
    with session(engine) as s:
        first = [(a.attempt, a.outcome, a.error) for a in outbox.message_attempts(s, message.id)]
        second = [(a.attempt, a.outcome, a.error) for a in outbox.message_attempts(s, other.id)]
    assert first == [(1, "retry", "+CMS ERROR: 38"), (2, "failed", "+CMS ERROR: 42")]
    assert second == [(1, "failed", "+CMS ERROR: 21")]
    assert load(engine, message.id)[0].last_error == "+CMS ERROR: 42"


def test_the_last_allowed_attempt_fails_the_message(engine, clock, key):
    policy = outbox.RetryPolicy(max_attempts=2)
    message = submit(engine, clock, key, text=LONG)
    outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert outbox.release(engine, message.id, now=clock(), error="e1", policy=policy) == "queued"
    clock.advance(hours=1)
    outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert outbox.release(engine, message.id, now=clock(), error="e2", policy=policy) == "failed"
    stored, parts = load(engine, message.id)
    assert (stored.status, stored.last_error, stored.lease_owner) == ("failed", "e2", None)
    assert {(p.status, p.error) for p in parts} == {("failed", "e2")}
    assert outbox.claim(engine, modem_id="m1", owner="m1", now=clock() + timedelta(days=1)) is None


def test_a_release_without_error_does_not_count_an_attempt(engine, clock, key):
    message = submit(engine, clock, key)
    outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert outbox.release(engine, message.id, now=clock()) == "queued"
    stored, _ = load(engine, message.id)
    assert (stored.attempts, stored.next_attempt_at, stored.status) == (0, clock(), "queued")
    assert outbox.claim(engine, modem_id="m2", owner="m2", now=clock()).attempt == 1


def test_a_retry_that_would_fall_after_the_validity_expires_the_message(engine, clock, key):
    message = submit(engine, clock, key, validity=timedelta(minutes=10))
    clock.advance(minutes=9, seconds=50)
    outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert outbox.release(engine, message.id, now=clock(), error="+CMS ERROR: 42") == "expired"
    stored, parts = load(engine, message.id)
    assert (stored.status, parts[0].status) == ("expired", "expired")


def test_waiting_messages_past_their_validity_are_not_claimed_but_expired(engine, clock, key):
    short = submit(engine, clock, key, validity=timedelta(minutes=10))
    clock.advance(seconds=1)
    lapsed = submit(engine, clock, key, validity=timedelta(minutes=10))
    clock.advance(seconds=1)
    keeps = submit(engine, clock, key)
    outbox.claim(engine, modem_id="m1", owner="m1", lease=timedelta(minutes=1), now=clock())  # takes `short`
    outbox.claim(engine, modem_id="m1", owner="m1", lease=timedelta(minutes=30), now=clock())  # takes `lapsed`
    outbox.release(engine, short.id, now=clock(), error="e")
    clock.advance(minutes=10)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert claim is not None and claim.message_id == keeps.id
    assert outbox.expire(engine, now=clock()) == [short.id]  # `lapsed` is still under its lease
    clock.advance(minutes=21)
    assert outbox.expire(engine, now=clock()) == [lapsed.id]
    assert load(engine, lapsed.id)[0].status == "expired"


def test_a_permanent_error_fails_the_message_and_its_unsent_parts(engine, clock, key):
    message = submit(engine, clock, key, text=LONG)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    outbox.record_sent(engine, claim.parts[0].part_id, mr=3, modem_id="m1", now=clock())
    assert outbox.fail(engine, message.id, error="+CMS ERROR: 21", now=clock(), owner="m1")
    stored, parts = load(engine, message.id)
    assert stored.status == "failed"
    assert [p.status for p in parts] == ["sent", "failed", "failed"]
    assert not outbox.fail(engine, message.id, error="again", now=clock())


def test_a_message_whose_senders_keep_stopping_is_failed_instead_of_claimed_again(engine, clock, key):
    # Each attempt ends without an answer (the process dies, a lease lapses): after the
    # policy's attempts, claim fails it rather than hand it to yet another sender.
    policy = outbox.RetryPolicy(max_attempts=3)
    doomed = submit(engine, clock, key, text=LONG)
    for attempt in (1, 2, 3):
        claim = outbox.claim(engine, modem_id="m1", owner="m1", lease=timedelta(minutes=1), now=clock(), policy=policy)
        assert claim is not None and (claim.message_id, claim.attempt) == (doomed.id, attempt)
        clock.advance(minutes=2)
    after = submit(engine, clock, key)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock(), policy=policy)
    assert claim is not None and claim.message_id == after.id  # the next one is not held up
    stored, parts = load(engine, doomed.id)
    assert stored.status == "failed" and "3 attempts" in stored.last_error
    assert {(p.status, p.error) for p in parts} == {("failed", stored.last_error)}


# --- status events and reports, committed with the change -----------------------------------


@pytest.fixture
def hook(engine: Engine, key: int) -> int:
    with session(engine) as s:
        row = Webhook(
            api_key_id=key, url="https://app.example/hook", secret="s", events="message.status", created_at=T0
        )
        s.add(row)
        s.commit()
        return row.id


def status_events(engine: Engine, message_id: str) -> list[str]:
    with session(engine) as s:
        rows = s.exec(sa.select(WebhookDelivery.payload).where(WebhookDelivery.event == "message.status")).scalars()
        data = [json.loads(p)["data"] for p in rows]
    return [d["status"] for d in data if d["id"] == message_id]


def test_failed_expired_and_sent_are_announced_in_the_transaction_that_makes_them(engine, clock, key, hook):
    failed, expired, sent = (submit(engine, clock, key, validity=timedelta(minutes=10)) for _ in range(3))
    for _ in (failed, expired, sent):
        outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    outbox.fail(engine, failed.id, error="+CMS ERROR: 21", now=clock())
    outbox.release(engine, expired.id, now=clock(), error="e", retry_at=clock() + timedelta(hours=1))
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert claim is None  # all three are out
    with session(engine) as s:
        (part,) = outbox.message_parts(s, sent.id)
    outbox.record_sent(engine, part.id, mr=9, modem_id="m1", now=clock())
    outbox.finish(engine, sent.id, now=clock())
    assert (status_events(engine, failed.id), status_events(engine, expired.id)) == (["failed"], ["expired"])
    assert status_events(engine, sent.id) == ["sent"]


def test_a_report_that_beat_the_sent_commit_ends_the_message_delivered_at_once(engine, clock, key, hook):
    message = submit(engine, clock, key, text=LONG)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    for i, part in enumerate(claim.parts):
        outbox.record_sent(engine, part.part_id, mr=40 + i, modem_id="m1", now=clock())
        sms_pdu = encode_status_report(40 + i, TO, timestamp=clock(), discharge_time=clock(), status=0)
        store_report(engine, "m1", decode_pdu(sms_pdu), sms_pdu, now=clock())  # delivered before `finish`
    assert load(engine, message.id)[0].status == "sending"
    assert outbox.finish(engine, message.id, now=clock(), owner="m1")
    assert load(engine, message.id)[0].status == "delivered"
    assert status_events(engine, message.id) == ["delivered"]


@pytest.mark.parametrize("report_first", [True, False])
def test_a_report_racing_the_mr_commit_is_matched_whichever_commits_first(engine, clock, key, report_first):
    # PostgreSQL runs both at once; each takes the (modem, MR) lock, so the later sees the earlier.
    rounds = 12
    messages = [submit(engine, clock, key) for _ in range(rounds)]
    claims = [outbox.claim(engine, modem_id="m1", owner="m1", now=clock()) for _ in messages]
    errors: list[BaseException] = []
    for i, claim in enumerate(claims):
        pdu = encode_status_report(i, TO, timestamp=clock(), discharge_time=clock(), status=0)
        barrier = threading.Barrier(2)

        def report(pdu: str = pdu) -> None:
            barrier.wait()  # noqa: B023 (the threads are joined within the iteration)
            store_report(engine, "m1", decode_pdu(pdu), pdu, now=clock())

        def commit(claim: outbox.Claim = claim, mr: int = i) -> None:
            barrier.wait()  # noqa: B023 (the threads are joined within the iteration)
            outbox.record_sent(engine, claim.parts[0].part_id, mr=mr, modem_id="m1", now=clock())
            outbox.finish(engine, claim.message_id, now=clock())

        threads = [
            threading.Thread(target=_catching(f, errors))
            for f in ((report, commit) if report_first else (commit, report))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert [load(engine, c.message_id)[0].status for c in claims] == ["delivered"] * rounds
    assert reports.unmatched_count(engine) == 0


def _catching(fn, errors: list[BaseException]):
    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    return run


# --- consent, checked at claim ----------------------------------------------------------------


def test_claim_suppresses_what_the_recipient_may_not_get_and_lets_keyword_replies_through(engine, clock, key, hook):
    opted_in, stranger = "+31611110001", "+31611110002"
    with session(engine) as s:
        consent.record_consent(s, opted_in, "opt_in", source="form", now=clock())
        s.commit()
    welcome = submit(engine, clock, key, recipient=opted_in, category="marketing")
    cold = submit(engine, clock, key, recipient=stranger, category="marketing")
    receipt = submit(engine, clock, key, recipient=stranger)  # transactional: no consent needed
    with session(engine) as s:
        consent.suppress(s, opted_in, reason="stop", now=clock())  # STOP after the first was queued
        reply = outbox.queue_keyword_reply(s, opted_in, "You are unsubscribed.", now=clock())
        s.commit()
    claimed = []
    policy = CompliancePolicy()  # the gateway's marketing rules (gateway.campaigns.wiring)
    while (claim := outbox.claim(engine, modem_id="m1", owner="m1", now=clock(), claim_policy=policy)) is not None:
        claimed.append(claim.message_id)
    assert sorted(claimed) == sorted([receipt.id, reply.id])
    for message, reason in ((welcome, "opted_out (stop)"), (cold, "no_consent")):
        stored, parts = load(engine, message.id)
        assert (stored.status, stored.last_error) == ("suppressed", f"not sent: {reason}")
        assert {p.status for p in parts} == {"cancelled"}
        assert status_events(engine, message.id) == ["suppressed"]


def test_a_multipart_message_cut_at_its_first_part_stays_with_its_modem_and_goes_first(engine, clock, key):
    older = submit(engine, clock, key, text=LONG)
    clock.advance(seconds=1)
    newer = submit(engine, clock, key)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert claim.message_id == older.id
    # Killed between part 1's AT+CMGS and its commit: part 1 may be out, through m1.
    clock.advance(seconds=5)
    recovery = outbox.recover(engine, now=clock(), owners=["m1", "m2"])
    assert recovery.uncertain_parts == (claim.parts[0].part_id,)
    assert load(engine, older.id)[0].modem_id == "m1"
    assert outbox.claim(engine, modem_id="m2", owner="m2", now=clock()).message_id == newer.id  # not m2's to send
    again = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert again.message_id == older.id and [p.seq for p in again.parts if not p.sent] == [1, 2, 3]


# --- attempts whose sender is gone end in the history --------------------------------------


def history(engine: Engine, message_id: str) -> list[tuple]:
    with session(engine) as s:
        return [(a.attempt, a.modem_id, a.outcome, a.error) for a in outbox.message_attempts(s, message_id)]


STOPPED = "its sender stopped before the attempt ended"


def test_recover_records_the_interrupted_attempt_and_the_part_that_may_be_doubled(engine, clock, key):
    message = submit(engine, clock, key, text=LONG)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    outbox.record_sent(engine, claim.parts[0].part_id, mr=40, modem_id="m1", now=clock())
    clock.advance(seconds=5)
    outbox.recover(engine, now=clock(), owners=["m1"])
    doubt = f"{STOPPED}; part 2 may have reached the network (a resend may repeat it)"
    assert history(engine, message.id) == [(1, "m1", "interrupted", doubt)]
    send_all(engine, outbox.claim(engine, modem_id="m1", owner="m1", now=clock()), clock)
    assert history(engine, message.id)[1:] == [(2, "m1", "sent", None)]


def test_a_lapsed_lease_taken_by_another_claim_records_the_interrupted_attempt(engine, clock, key):
    message = submit(engine, clock, key)
    outbox.claim(engine, modem_id="m1", owner="m1", lease=timedelta(seconds=30), now=clock())
    clock.advance(seconds=31)
    outbox.claim(engine, modem_id="m2", owner="m2", now=clock())
    doubt = f"{STOPPED}; part 1 may have reached the network (a resend may repeat it)"
    assert history(engine, message.id) == [(1, "m1", "interrupted", doubt)]


def test_a_claim_that_gives_up_records_every_interrupted_attempt(engine, clock, key):
    policy = outbox.RetryPolicy(max_attempts=2)
    doomed = submit(engine, clock, key)
    for _ in (1, 2):
        outbox.claim(engine, modem_id="m1", owner="m1", lease=timedelta(minutes=1), now=clock(), policy=policy)
        clock.advance(minutes=2)
    assert outbox.claim(engine, modem_id="m1", owner="m1", now=clock(), policy=policy) is None
    assert [(attempt, outcome) for attempt, _, outcome, _ in history(engine, doomed.id)] == [
        (1, "interrupted"),
        (2, "interrupted"),
    ]
    assert load(engine, doomed.id)[0].status == "failed"


def test_a_claim_that_gives_up_after_a_recovery_records_each_attempt_once(engine, clock, key):
    policy = outbox.RetryPolicy(max_attempts=1)
    doomed = submit(engine, clock, key)
    outbox.claim(engine, modem_id="m1", owner="m1", now=clock(), policy=policy)
    outbox.recover(engine, now=clock(), owners=["m1"])
    assert outbox.claim(engine, modem_id="m1", owner="m1", now=clock(), policy=policy) is None
    assert [outcome for _, _, outcome, _ in history(engine, doomed.id)] == ["interrupted"]
    assert load(engine, doomed.id)[0].status == "failed"


def test_a_lapsed_message_suppressed_at_claim_records_the_interrupted_attempt(engine, clock, key):
    message = submit(engine, clock, key, category="marketing")
    outbox.claim(engine, modem_id="m1", owner="m1", lease=timedelta(minutes=1), now=clock())  # no rules yet
    clock.advance(minutes=2)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock(), claim_policy=CompliancePolicy())
    assert claim is None and load(engine, message.id)[0].status == "suppressed"  # no consent
    assert [outcome for _, _, outcome, _ in history(engine, message.id)] == ["interrupted"]


def test_expire_records_the_interrupted_attempt_of_a_lapsed_message_only(engine, clock, key):
    lapsed = submit(engine, clock, key, validity=timedelta(minutes=10))
    clock.advance(seconds=1)
    waiting = submit(engine, clock, key, validity=timedelta(minutes=10), text="never claimed")
    outbox.claim(engine, modem_id="m1", owner="m1", lease=timedelta(minutes=1), now=clock())
    clock.advance(minutes=11)
    assert sorted(outbox.expire(engine, now=clock())) == sorted([lapsed.id, waiting.id])
    assert [(a, m, o) for a, m, o, _ in history(engine, lapsed.id)] == [(1, "m1", "interrupted")]
    assert history(engine, waiting.id) == []  # no attempt was under way


def test_a_whole_resend_keeps_the_national_table_the_message_was_encoded_with(engine, clock, key):
    text = "Sayın müşterimiz, siparişiniz yola çıktı; teşekkür ederiz. " * 3  # Turkish: ş, ı, ğ need the table
    message = submit(engine, clock, key, text=text, languages=("tr",))
    first = load(engine, message.id)[1]
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    outbox.record_sent(engine, claim.parts[0].part_id, mr=9, modem_id="m1", now=clock())
    status = outbox.release(engine, message.id, now=clock(), error="modem gone", retry_at=clock(), resend_whole=True)
    assert status == "queued"
    stored, parts = load(engine, message.id)
    assert stored.generation == 2 and len(parts) == len(first)
    assert "".join(decode_pdu(p.pdu).text for p in parts) == text


# --- the daily cap at the claim -------------------------------------------------------------


def test_a_claim_hands_out_only_a_message_that_fits_in_the_modems_day(engine, clock, key):
    long = submit(engine, clock, key, text=LONG).id  # 3 parts, the oldest
    clock.advance(seconds=1)
    short = submit(engine, clock, key).id
    # Two parts left today: the 3-part message is passed over, never cut; the short one goes.
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock(), max_parts=2)
    assert claim is not None and claim.message_id == short
    assert outbox.claim(engine, modem_id="m1", owner="m1", now=clock(), max_parts=2) is None
    assert outbox.claim(engine, modem_id="m1", owner="m1", now=clock(), max_parts=0) is None
    # A modem with room (or without a cap) takes it, whole.
    other = outbox.claim(engine, modem_id="m2", owner="m2", now=clock(), max_parts=3)
    assert other is not None and other.message_id == long and len(other.parts) == 3


def test_a_message_pinned_after_some_parts_needs_room_only_for_the_rest(engine, clock, key):
    message_id = submit(engine, clock, key, text=LONG).id
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert claim is not None
    outbox.record_sent(engine, claim.parts[0].part_id, mr=7, modem_id="m1", now=clock())
    assert outbox.release(engine, message_id, now=clock()) == "queued"  # back between two parts
    assert outbox.claim(engine, modem_id="m1", owner="m1", now=clock(), max_parts=1) is None
    again = outbox.claim(engine, modem_id="m1", owner="m1", now=clock(), max_parts=2)
    assert again is not None and [p.sent for p in again.parts] == [True, False, False]


def test_the_daily_count_after_a_restart_is_read_from_what_was_sent(engine, clock, key):
    submit(engine, clock, key, text=LONG)
    claim = outbox.claim(engine, modem_id="m1", owner="m1", now=clock())
    assert claim is not None
    send_all(engine, claim, clock)
    counts = outbox.parts_sent_since(engine, {"m1": clock() - timedelta(hours=1), "m2": clock() - timedelta(hours=1)})
    assert counts == {"m1": 3, "m2": 0}
    assert outbox.parts_sent_since(engine, {"m1": clock() + timedelta(seconds=1)}) == {"m1": 0}


def test_due_targets_name_the_modem_a_due_message_must_use(engine, clock, key):
    submit(engine, clock, key, text="any modem")
    submit(engine, clock, key, text="for m2", modem="m2")
    submit(engine, clock, key, text="also any modem")
    assert sorted(outbox.due_targets(engine, now=clock()), key=str) == sorted([None, "m2", None], key=str)
    assert len(outbox.due_targets(engine, now=clock(), limit=1)) == 1
    assert outbox.due_targets(engine, now=clock() - timedelta(seconds=1)) == []
