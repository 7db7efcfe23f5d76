"""Our `Modem` against simulated modems with real devices' habits (docs/modem-quirks.md):
each one starts, sends with status reports where the device can route them, and reads
what arrives, with short injected limits."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

import pytest

from drivers import CmeError
from drivers.at.modem import Location, Modem, ModemConfig, open_modem
from drivers.at.probe import probe
from drivers.simulator.personalities import personality
from drivers.simulator.server import SimulatorThread, default_profile
from drivers.sms import SmsDeliver, encode_submit
from tests.support.driver import FAST, SENDER, commands_seen, next_incoming, stored, url_of

# Short quiet time and busy wait, so the waits cost a fraction of a second.
QUIRKY = dataclasses.replace(FAST, quiet_time=0.1, busy_wait=3.0)


def sim_of(make_sim: Callable[..., SimulatorThread], name: str, **changes: object) -> SimulatorThread:
    return make_sim(profiles=[dataclasses.replace(personality(name, default_profile(1)), **changes)])


async def started(make_modem: Callable, sim: SimulatorThread, config: ModemConfig = QUIRKY) -> Modem:
    modem: Modem = await make_modem(url_of(sim, "pty"), config)
    await modem.initialize()
    return modem


async def test_wavecom_starts_without_cpin_ok_with_two_memories_and_no_revision(
    make_sim: Callable, make_modem: Callable
) -> None:
    sim = sim_of(make_sim, "wavecom-multiband", busy_after_power_on=0.3)
    modem = await started(make_modem, sim)
    assert (modem.identity.manufacturer, modem.identity.model, modem.identity.revision) == (
        "WAVECOM MODEM",
        "MULTIBAND  900E  1800",
        None,
    )
    assert modem.memory == "SM"
    assert modem.channel.quiet_endings >= 1  # AT+CPIN? ended by the quiet time
    seen = commands_seen(sim)
    assert 'AT+CPMS="SM","SM"' in seen and 'AT+CPMS="SM","SM","SM"' not in seen  # ruled out by AT+CPMS=?
    # A new message is read on its +CMTI and its slot freed on acknowledge.
    sim.inbound("sim1", SENDER, "hello wavecom")
    item = await next_incoming(modem)
    assert isinstance(item.sms, SmsDeliver) and item.sms.text == "hello wavecom"
    await modem.acknowledge(item)
    assert stored(sim) == []


async def test_late_ok_after_the_quiet_time_does_not_end_the_next_command() -> None:
    # A modem whose OK to AT+CPIN? comes well after the quiet time: the next command
    # still gets its own answer.
    async def scripted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readuntil(b"\r"):
            command = line.strip().decode()
            if command == "AT+CPIN?":
                writer.write(b"\r\n+CPIN: READY\r\n")
                await asyncio.sleep(0.3)
                writer.write(b"\r\nOK\r\n")
            elif command == "AT+CSQ":
                await asyncio.sleep(0.05)
                writer.write(b"\r\n+CSQ: 17,99\r\n\r\nOK\r\n")
            elif command == "AT+CMEE?":
                writer.write(b"\r\n+CMEE: 1\r\n\r\nOK\r\n")
            else:
                writer.write(b"\r\nOK\r\n")

    server = await asyncio.start_server(scripted, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    modem = await open_modem(f"socket://127.0.0.1:{port}", QUIRKY)
    try:
        assert await modem.pin_state() == "READY"
        assert modem.channel.quiet_endings == 1
        assert (await modem.health()).rssi == 17
    finally:
        await modem.close()
        server.close()


async def test_sim_busy_after_boot_is_waited_out(make_sim: Callable, make_modem: Callable) -> None:
    sim = sim_of(make_sim, "simcom-sim800-cold", busy_after_power_on=0.3)
    modem = await started(make_modem, sim)
    assert modem.identity.model == "SIMCOM_SIM800"
    assert commands_seen(sim).count("AT+CPIN?") >= 2  # asked again after +CME ERROR: 14


async def test_sim_busy_for_good_gives_a_clear_error_after_a_bounded_wait(
    make_sim: Callable, make_modem: Callable
) -> None:
    sim = sim_of(make_sim, "simcom-sim800-cold", busy_after_power_on=3600.0)
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:  # the injected clock: no real waiting
        pauses.append(seconds)

    modem = await open_modem(url_of(sim, "pty"), QUIRKY, sleep=sleep)
    try:
        await modem.channel.command("AT+CMEE=1")
        with pytest.raises(CmeError, match="still busy") as caught:
            await modem.pin_state()
    finally:
        await modem.close()
    assert caught.value.code == 14
    assert pauses == sorted(pauses) and pauses[0] < pauses[-1]  # growing pauses
    assert 0 < sum(pauses) <= QUIRKY.busy_wait


async def test_plain_error_to_the_listing_reads_storage_slot_by_slot(make_sim: Callable, make_modem: Callable) -> None:
    sim = sim_of(make_sim, "nokia-phone")
    modem = await started(make_modem, sim)
    await modem.close()  # messages arrive while nobody listens: only the poll finds them
    sim.inbound("sim1", SENDER, "first")
    sim.inbound("sim1", SENDER, "second")
    modem = await started(make_modem, sim)
    assert await modem.poll_storage() == 2
    assert modem.listing == "by_index"
    items = [await next_incoming(modem), await next_incoming(modem)]
    assert [i.sms.text for i in items] == ["first", "second"]  # type: ignore[union-attr]
    assert [i.location for i in items] == [Location("SM", 1), Location("SM", 2)]
    assert await modem.poll_storage() == 0  # handed over already: not again
    for item in items:
        await modem.acknowledge(item)
    assert stored(sim) == []
    assert await modem.poll_storage() == 0
    assert not modem.gone


async def test_cnmi_follows_what_the_modem_offers_so_reports_are_on(make_sim: Callable, make_modem: Callable) -> None:
    sim = sim_of(make_sim, "cinterion-mc75i")
    modem = await started(make_modem, sim)
    assert modem.routing == "2,1,0,2,1"
    assert modem.status_reports
    mr = await modem.send(encode_submit("+31611111111", "report me")[0])
    report = await next_incoming(modem)
    assert report.is_status_report and report.sms.message_reference == mr  # type: ignore[union-attr]


async def test_vendor_lines_inside_answers_leave_identity_and_storage_right(
    make_sim: Callable, make_modem: Callable
) -> None:
    sim = sim_of(make_sim, "huawei-e3131")
    modem: Modem = await make_modem(url_of(sim, "pty"), QUIRKY)
    info = await probe(modem)
    assert (info["manufacturer"], info["model"], info["firmware"]) == ("huawei", "E3131", "21.158.13.00.00")
    assert info["imei"] == default_profile(1).imei
    assert info["storage"] == '"SM",0,30,"SM",0,30,"SM",0,30'
    assert info["status_reports"] is True
