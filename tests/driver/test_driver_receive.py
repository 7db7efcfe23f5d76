"""Receiving through our driver: +CMTI then AT+CMGR, polling storage with AT+CMGL when
there are no indications (or they were lost), acknowledging, and undecodable PDUs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from drivers.at.modem import Location, Modem, open_modem
from drivers.simulator.commands import HANDLERS
from drivers.simulator.framing import CommandFailed
from drivers.simulator.server import SimulatorThread
from drivers.sms import SmsDeliver, encode_deliver
from tests.support.driver import (
    FAST,
    SENDER,
    both_transports,
    inbound_pdu,
    incoming,
    next_incoming,
    nothing_more,
    stored,
    url_of,
)

pytestmark = pytest.mark.timeout(30)

LONG = "Concatenated inbound, split by the SMSC into parts that arrive one by one. " * 5
# An SMS-DELIVER whose user data length promises more than follows.
TRUNCATED_DELIVER = "07911356131313F3040B911316111111F10000621192305013000AFFFF"


@pytest.fixture
def no_indications(monkeypatch: pytest.MonkeyPatch) -> None:
    """A modem that refuses every AT+CNMI setting, so new messages are only stored."""

    def cnmi(m: object, form: str, args: list[str]) -> list[str]:
        raise CommandFailed("CMS", 303)

    monkeypatch.setitem(HANDLERS, "+CNMI", cnmi)


@both_transports
async def test_new_message_is_indicated_read_and_handed_over(modem: Modem, sim: SimulatorThread) -> None:
    assert sim.inbound("sim1", SENDER, "Hello there") == 1
    item = await next_incoming(modem)
    assert isinstance(item.sms, SmsDeliver)
    assert (item.sms.number, item.sms.text, item.sms.concat) == (SENDER, "Hello there", None)
    assert item.location == Location("SM", 1)
    assert item.error is None and not item.is_status_report
    assert await nothing_more(modem) == []


async def test_acknowledge_frees_the_slot_and_nothing_is_handed_over_twice(modem: Modem, sim: SimulatorThread) -> None:
    sim.inbound("sim1", SENDER, "first")
    item = await next_incoming(modem)
    assert stored(sim) == [1]
    assert await modem.poll_storage() == 0  # already handed over, not yet acknowledged
    await modem.acknowledge(item)
    assert stored(sim) == []
    sim.inbound("sim1", SENDER, "second")  # lands in the freed slot
    again = await next_incoming(modem)
    assert again.sms.text == "second" and again.location == item.location  # type: ignore[union-attr]
    assert await modem.poll_storage() == 0
    assert await nothing_more(modem) == []


async def test_a_slot_refilled_while_its_delete_runs_is_read_at_once_not_at_the_next_poll() -> None:
    # A modem may store the next message (one the SMSC held while memory was full, or a
    # report) in the slot AT+CMGD just freed, and its +CMTI can reach us in the same read
    # as the OK: the slot is then still ours. A scripted modem answers that way every time.
    stamp = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    slot = [encode_deliver(SENDER, "first", timestamp=stamp)[0], encode_deliver(SENDER, "STOP", timestamp=stamp)[0]]
    reads = 0

    opened = asyncio.Event()  # the port discards what arrived while it was being opened

    async def scripted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal reads
        await opened.wait()
        writer.write(b'\r\n+CMTI: "SM",1\r\n')
        while line := await reader.readuntil(b"\r"):
            command = line.strip().decode()
            if command == "AT+CMGR=1":
                pdu = slot[min(reads, 1)]
                reads += 1
                writer.write(f"\r\n+CMGR: 0,,{len(pdu) // 2 - 8}\r\n{pdu}\r\n\r\nOK\r\n".encode())
            elif command == "AT+CMGD=1":
                writer.write(b'\r\nOK\r\n\r\n+CMTI: "SM",1\r\n')  # one write, one read
            else:
                writer.write(b"\r\nOK\r\n")

    server = await asyncio.start_server(scripted, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    modem = await open_modem(f"socket://127.0.0.1:{port}", FAST)
    opened.set()
    try:
        first = await next_incoming(modem)
        assert first.sms.text == "first"  # type: ignore[union-attr]
        await modem.acknowledge(first)
        second = await next_incoming(modem)  # no storage poll in this test
        assert second.sms.text == "STOP" and second.location == first.location  # type: ignore[union-attr]
    finally:
        await modem.close()
        server.close()


@both_transports
async def test_concatenated_message_arrives_as_parts_with_their_concat_info(modem: Modem, sim: SimulatorThread) -> None:
    n = sim.inbound("sim1", SENDER, LONG)
    assert n == 3
    parts = await incoming(modem, n)
    concats = sorted((p.sms.concat.seq, p.sms.concat.total) for p in parts)  # type: ignore[union-attr]
    assert concats == [(1, 3), (2, 3), (3, 3)]
    assert len({p.sms.concat.ref for p in parts}) == 1  # type: ignore[union-attr]
    ordered = sorted(parts, key=lambda p: p.sms.concat.seq)  # type: ignore[union-attr]
    assert "".join(p.sms.text for p in ordered) == LONG  # type: ignore[union-attr]
    assert sorted(p.location.index for p in parts) == [1, 2, 3]  # type: ignore[union-attr]
    for part in parts:
        await modem.acknowledge(part)
    assert stored(sim) == []
    assert await nothing_more(modem) == []


async def test_without_indications_polling_storage_finds_new_messages_once(
    no_indications: None, modem: Modem, sim: SimulatorThread
) -> None:
    assert modem.routing is None
    sim.inbound("sim1", SENDER, "short")
    sim.inbound("sim1", SENDER, LONG)
    assert await nothing_more(modem) == []  # no +CMTI: nothing comes by itself
    assert await modem.poll_storage() == 4
    items = modem.incoming_nowait()
    assert [i.location.index for i in items] == [1, 2, 3, 4]  # type: ignore[union-attr]
    assert items[0].sms.text == "short"  # type: ignore[union-attr]
    assert await modem.poll_storage() == 0
    for item in items:
        await modem.acknowledge(item)
    assert stored(sim) == []
    assert await modem.poll_storage() == 0


@both_transports
async def test_messages_stored_while_nobody_listened_are_found_by_polling(
    make_modem: Callable, sim: SimulatorThread, transport: str
) -> None:
    sim.inbound("sim1", SENDER, "while you were out")  # no client yet: no +CMTI seen
    modem = await make_modem(url_of(sim, transport))
    await modem.initialize()
    assert await nothing_more(modem, 0.2) == []
    assert await modem.poll_storage() == 1
    (item,) = modem.incoming_nowait()
    assert item.sms.text == "while you were out"  # type: ignore[union-attr]
    sim.inbound("sim1", SENDER, "now you listen")  # and indications work from here on
    assert (await next_incoming(modem)).sms.text == "now you listen"  # type: ignore[union-attr]
    assert await modem.poll_storage() == 0


async def test_undecodable_pdu_is_handed_over_with_its_error_not_dropped(modem: Modem, sim: SimulatorThread) -> None:
    inbound_pdu(sim, "sim1", TRUNCATED_DELIVER)
    item = await next_incoming(modem)
    assert item.sms is None
    assert item.error and "user data length" in item.error
    assert item.pdu.upper() == TRUNCATED_DELIVER
    assert item.location == Location("SM", 1)
    await modem.acknowledge(item)
    assert stored(sim) == []


async def test_undecodable_pdu_found_by_polling_is_handed_over_too(
    no_indications: None, modem: Modem, sim: SimulatorThread
) -> None:
    inbound_pdu(sim, "sim1", TRUNCATED_DELIVER)
    assert await modem.poll_storage() == 1
    (item,) = modem.incoming_nowait()
    assert item.sms is None and item.error
    assert item.pdu.upper() == TRUNCATED_DELIVER


@both_transports
async def test_directly_routed_message_is_handed_over_and_acknowledged_with_cnma(
    make_modem: Callable[..., object], sim: SimulatorThread, url: str
) -> None:
    # A modem on message service 1 that routes new messages straight to the port (+CMT),
    # as some firmware insists on: each one must be acknowledged with AT+CNMA, or the
    # modem stops delivering and keeps the message itself.
    sim.call(lambda: setattr(sim.sim.modems["sim1"], "csms", 1))
    modem: Modem = await make_modem(url)  # type: ignore[misc]
    await modem.initialize()
    await modem.channel.command("AT+CNMI=2,2,0,1,0")
    for text in ("first direct", "second direct"):
        sim.inbound("sim1", SENDER, text)
        item = await next_incoming(modem)
        assert isinstance(item.sms, SmsDeliver) and item.sms.text == text
        assert item.location is None  # never stored in the modem
    for _ in range(50):
        if sim.call(lambda: sim.sim.modems["sim1"].sms.awaiting_cnma) is None:
            break
        await asyncio.sleep(0.05)
    commands = sim.call(lambda: list(sim.sim.modems["sim1"].commands_seen))
    assert commands.count("AT+CNMA") == 2
    assert sim.call(lambda: sim.sim.modems["sim1"].stores["SM"].used) == 0
