"""Status reports that arrive together are stored together: every one matched to its part,
in fewer transactions than reports, and a failed write loses none of them silently."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from drivers.sms import decode_pdu, encode_status_report
from drivers.sms.pdu import SmsStatusReport
from gateway.core import reports
from gateway.core.models import DeliveryReport, Message, Part
from gateway.core.reportqueue import ReportQueue
from gateway.core.runtime import Writes
from tests.support.rows import T0, sent_message

MODEMS = ("m1", "m2", "m3")
Item = tuple[str, SmsStatusReport, str]


def sent_parts(engine: Engine, per_modem: int) -> list[tuple[Item, int]]:
    """One sent single-part message per (modem, MR), with the report each will get."""
    made = []
    for i in range(per_modem):
        for n, modem in enumerate(MODEMS):
            recipient = f"+3161234{n}{i:03d}"
            at = T0 + timedelta(seconds=i)
            _, (pid,) = sent_message(engine, recipient=recipient, parts=[(modem, i, at)])
            pdu = encode_status_report(i, recipient, timestamp=at, discharge_time=at + timedelta(seconds=3), status=0)
            sms = decode_pdu(pdu)
            assert isinstance(sms, SmsStatusReport)
            made.append(((modem, sms, pdu), pid))
    return made


def queue_for(engine: Engine) -> ReportQueue[Item, reports.StoredReport]:
    writes = Writes(engine)
    return ReportQueue(lambda items: writes(reports.store_reports, engine, items, now=T0 + timedelta(minutes=5)))


def commits_of(engine: Engine) -> list[int]:
    commits: list[int] = []
    sa.event.listen(engine, "commit", lambda conn: commits.append(1))
    return commits


async def test_a_burst_of_reports_from_several_modems_is_stored_in_fewer_transactions(engine):
    made = sent_parts(engine, per_modem=10)
    queue = queue_for(engine)
    commits = commits_of(engine)
    # The first finds the queue idle and is written at once; the rest come in meanwhile.
    first = asyncio.ensure_future(queue.store(made[0][0]))
    await asyncio.sleep(0)
    rest = await asyncio.gather(*(queue.store(item) for item, _ in made[1:]))
    stored = [await first, *rest]

    assert [r.part_id for r in stored] == [pid for _, pid in made]
    assert 1 < len(commits) < len(made)
    with engine.connect() as conn:
        delivered = conn.execute(sa.select(sa.func.count()).where(Message.status == "delivered")).scalar_one()
        attached = conn.execute(
            sa.select(sa.func.count()).select_from(DeliveryReport).where(DeliveryReport.part_id.is_not(None))
        ).scalar_one()
    assert delivered == attached == len(made)


async def test_a_batch_whose_write_fails_fails_every_caller_and_stores_none(engine):
    made = sent_parts(engine, per_modem=2)
    queue = queue_for(engine)
    inserted: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def disk_fails_on_the_third_report(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO delivery_report"):
            inserted.append(statement)
            if len(inserted) == 3:
                raise OSError("disk I/O error")

    outcomes = await asyncio.gather(*(queue.store(item) for item, _ in made), return_exceptions=True)
    sa.event.remove(engine, "before_cursor_execute", disk_fails_on_the_third_report)

    assert all(isinstance(o, OSError) for o in outcomes), outcomes
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(DeliveryReport)).scalar_one() == 0
        assert set(conn.execute(sa.select(Part.status)).scalars()) == {"sent"}
    # The reports stay in their modems and come again: then they are stored.
    again = await asyncio.gather(*(queue.store(item) for item, _ in made))
    assert [r.part_id for r in again] == [pid for _, pid in made]
