"""Every simulated fault ends in the documented action for the message being sent.

The source of truth for error codes is the table in `drivers.at.errors`; these tests check
that what our driver raises when the simulator shows a fault classifies the way that table
says, and that the driver copes with timing faults (slow answers, hangs, drop-outs, noise).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from drivers import AtError, CmeError, CmsError, ModemGone, ModemTimeout
from drivers.at import CME_ERRORS, CMS_ERRORS, Action, classify, cme_action, cms_action
from drivers.at.modem import Modem, open_modem
from drivers.simulator.server import SimulatorThread
from drivers.sms import encode_submit
from gateway.core.policy import SendRecord, error_class
from tests.support.driver import FAST, RECIPIENT, SENDER, both_transports, next_incoming, url_of

pytestmark = pytest.mark.timeout(30)

# Short limits: a hung modem costs 0.3 s per command.
QUICK = dataclasses.replace(FAST, command_timeout=0.3, send_timeout=0.5, hang_after=3)


async def initialize(modem: Modem) -> None:
    """Initialise under the usual limits, then keep QUICK's: the faults come after start-up,
    and 0.3 s for each of start-up's commands is too short on a busy machine."""
    quick = modem.config
    modem.config = FAST
    try:
        await modem.initialize()
    finally:
        modem.config = quick


def part(text: str = "fault test") -> Any:
    return encode_submit(RECIPIENT, text)[0]


async def send_error(modem: Modem) -> AtError:
    with pytest.raises(AtError) as caught:
        await modem.send(part())
    return caught.value


@pytest.fixture
async def quick(make_modem: Callable, url: str) -> Modem:
    """Our Modem on sim1 with short time limits, initialised."""
    modem: Modem = await make_modem(url, QUICK)
    await initialize(modem)
    return modem


# --- one fault, one action: the table ---------------------------------------------------


@dataclass(frozen=True)
class Case:
    """Faults set on sim1, and what the send that meets them raises and classifies to."""

    faults: dict[str, Any]
    error: type[AtError]
    code: int | None
    action: Action
    recovers: bool = True  # after clear_faults the same Modem sends again
    attempt: int = 1


def cms(code: int, **extra: Any) -> Case:
    return Case({"cms_error": code, **extra}, CmsError, code, cms_action(code))


def cme(code: int) -> Case:
    return Case({"cme_error": code}, CmeError, code, cme_action(code))


ERROR_CASES: dict[str, Case] = {
    # +CMS ERROR of each class, actions from errors.py's own table
    "cms500-vague-first": cms(500),
    "cms42-congestion": cms(42),
    "cms332-network-timeout": cms(332),
    "cms331-no-service": cms(331),
    "cms21-sm-rejected": cms(21),
    "cms38-network-out-of-order": cms(38),
    "cms1-unassigned-number": cms(1),
    "cms304-invalid-pdu-param": cms(304),
    "cms300-me-failure": cms(300),
    "cms310-sim-not-inserted": cms(310),
    "cms322-memory-full": cms(322),
    "cms600-vendor": cms(600),
    # +CME ERROR on send
    "cme14-sim-busy": cme(14),
    "cme30-no-network": cme(30),
    "cme21-invalid-index": cme(21),
    "cme10-sim-not-inserted": cme(10),
    # the same vague error again on the same modem points at the modem
    "cms500-vague-again": dataclasses.replace(cms(500), action=Action.MODEM_FAULT, attempt=2),
    # faults of the SIM or the network rather than an injected code
    "no-registration": Case({"no_registration": True}, CmsError, 331, Action.RETRY_OTHER_MODEM),
    "pin-required": Case({"pin_required": True}, CmsError, 311, Action.MODEM_FAULT),
    # the network takes longer than the send time limit
    "submit-beyond-send-timeout": Case({"submit_delay": 0.7}, ModemTimeout, None, Action.MODEM_FAULT),
}
# Faults of the line, where the transport (pty or TCP) matters.
LINE_CASES: dict[str, Case] = {
    "hang": Case({"hang": True}, ModemTimeout, None, Action.MODEM_FAULT),
    "disconnect": Case({"disconnect": True}, ModemGone, None, Action.MODEM_FAULT, recovers=False),
}


def test_expected_actions_come_from_the_error_table() -> None:
    for case in ERROR_CASES.values():
        if case.error is CmsError and case.attempt == 1 and case.code in CMS_ERRORS:
            assert case.action is CMS_ERRORS[case.code].action
        if case.error is CmeError:
            assert case.code is not None and case.action is CME_ERRORS[case.code].action
    assert {c.action for c in ERROR_CASES.values()} == set(Action)  # every action covered


async def check_case(modem: Modem, sim: SimulatorThread, case: Case) -> None:
    before = len(sim.received())
    sim.set_faults("sim1", **case.faults)
    error = await send_error(modem)
    assert type(error) is case.error, error
    if case.code is not None:
        assert error.code == case.code  # type: ignore[attr-defined]
    assert error_class(error, SendRecord(failed_sends=case.attempt - 1)) is case.action
    sim.clear_faults("sim1")
    if case.faults.get("submit_delay"):
        await asyncio.sleep(case.faults["submit_delay"])  # the late answer drains meanwhile
    if case.recovers:
        assert isinstance(await modem.send(part("after")), int)
        assert sim.received()[-1]["text"] == "after"
    if case.error in (CmsError, CmeError):
        assert len(sim.received()) == before + 1  # the failed one never reached the network


@pytest.mark.parametrize("case", ERROR_CASES.values(), ids=ERROR_CASES.keys())
async def test_error_on_send_ends_in_the_documented_action(
    make_modem: Callable, sim: SimulatorThread, case: Case
) -> None:
    modem = await make_modem(url_of(sim, "pty"), QUICK)
    await initialize(modem)
    await check_case(modem, sim, case)


@both_transports
@pytest.mark.parametrize("case", LINE_CASES.values(), ids=LINE_CASES.keys())
async def test_line_fault_on_send_ends_in_the_documented_action(quick: Modem, sim: SimulatorThread, case: Case) -> None:
    await check_case(quick, sim, case)


async def test_every_cms_code_in_the_table_classifies_as_the_table_says(
    make_modem: Callable, sim: SimulatorThread
) -> None:
    modem = await make_modem(url_of(sim, "pty"), QUICK)
    await initialize(modem)
    wrong = {}
    for code, info in CMS_ERRORS.items():
        sim.set_faults("sim1", cms_error=code)
        error = await send_error(modem)
        got = (type(error).__name__, getattr(error, "code", None), classify(error))
        if got != ("CmsError", code, info.action):
            wrong[code] = got
    assert wrong == {}


# --- hangs --------------------------------------------------------------------------------


@both_transports
async def test_hang_times_out_each_command_then_declares_the_modem_gone(quick: Modem, sim: SimulatorThread) -> None:
    sim.set_faults("sim1", hang=True)
    for _ in range(QUICK.hang_after - 1):
        start = time.monotonic()
        with pytest.raises(ModemTimeout):
            await quick.health()
        assert 0.25 < time.monotonic() - start < 1.0
    with pytest.raises(ModemGone, match="hung"):
        await quick.health()
    assert quick.gone
    start = time.monotonic()
    with pytest.raises(ModemGone):
        await quick.send(part())  # from now on at once, without waiting
    assert time.monotonic() - start < 0.1


async def test_an_answer_in_between_resets_the_hang_count(quick: Modem, sim: SimulatorThread) -> None:
    for _ in range(2):
        sim.set_faults("sim1", hang=True)
        for _ in range(QUICK.hang_after - 1):
            with pytest.raises(ModemTimeout):
                await quick.health()
        sim.clear_faults("sim1")
        assert (await quick.health()).registered
    assert not quick.gone


# --- slow answers ---------------------------------------------------------------------------


async def test_slow_answers_within_the_time_limit_succeed(quick: Modem, sim: SimulatorThread) -> None:
    sim.set_faults("sim1", slow=0.15)
    assert (await quick.health()).rssi == 20
    assert await quick.send(part()) == 0  # the prompt and the result are both late
    sim.set_faults("sim1", slow=0.0, submit_delay=0.3)
    assert await quick.send(part()) == 1  # the network is slow but within send_timeout


async def test_answers_beyond_the_time_limit_time_out_and_the_line_recovers(quick: Modem, sim: SimulatorThread) -> None:
    sim.set_faults("sim1", slow=0.5)
    with pytest.raises(ModemTimeout):
        await quick.read_smsc()
    sim.clear_faults("sim1")
    await asyncio.sleep(0.4)  # the late answer arrives while no command waits
    assert await quick.read_smsc() == sim.sim.network.smsc  # type: ignore[union-attr]
    assert (await quick.health()).rssi == 20
    assert not quick.gone


# --- line noise ------------------------------------------------------------------------------


@both_transports
async def test_garbage_before_answers_does_not_break_commands(quick: Modem, sim: SimulatorThread) -> None:
    noise = b"\x00\xff\x13\x07~\x7f"
    sim.set_faults("sim1", garbage=noise)
    before = quick.channel.garbage_bytes
    assert (await quick.health()).registered
    assert await quick.send(part()) == 0
    sim.inbound("sim1", SENDER, "through the noise")
    items = [await next_incoming(quick), await next_incoming(quick)]
    texts = sorted(i.sms.text for i in items if not i.is_status_report)  # type: ignore[union-attr]
    assert texts == ["through the noise"]
    assert quick.channel.garbage_bytes > before
    assert sim.messages()[-1]["text"] == "fault test"


# --- disconnects -----------------------------------------------------------------------------


@both_transports
async def test_disconnect_while_idle_is_modem_gone_at_once(
    make_modem: Callable, url: str, sim: SimulatorThread
) -> None:
    # Long limits: noticing the drop-out must not wait for them.
    modem = await make_modem(url, dataclasses.replace(QUICK, command_timeout=5.0, send_timeout=5.0))
    await modem.initialize()
    sim.set_faults("sim1", disconnect=True)
    start = time.monotonic()
    with pytest.raises(ModemGone) as caught:
        await modem.health()
    assert time.monotonic() - start < 1.0
    assert classify(caught.value) is Action.MODEM_FAULT
    assert modem.gone
    with pytest.raises(ModemGone):
        await modem.send(part())


@both_transports
async def test_disconnect_mid_command_is_modem_gone_without_waiting_for_the_timeout(
    make_modem: Callable, url: str, sim: SimulatorThread
) -> None:
    modem = await make_modem(url, dataclasses.replace(QUICK, command_timeout=5.0, send_timeout=5.0))
    await modem.initialize()
    sim.set_faults("sim1", slow=3.0)
    task = asyncio.ensure_future(modem.send(part()))
    await asyncio.sleep(0.2)
    start = time.monotonic()
    sim.set_faults("sim1", disconnect=True)
    with pytest.raises(ModemGone):
        await task
    assert time.monotonic() - start < 1.0


@both_transports
async def test_dropped_connection_leaves_no_unretrieved_errors(sim: SimulatorThread, transport: str) -> None:
    problems: list[str] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: problems.append(context["message"]))
    try:
        modem = await open_modem(url_of(sim, transport), QUICK)
        await modem.initialize()
        sim.set_faults("sim1", disconnect=True)
        for _ in range(3):
            with pytest.raises(ModemGone):
                await modem.health()
        await asyncio.sleep(0.2)  # the reader notices too
        await modem.close()
        del modem
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert problems == []


# --- cancellation ----------------------------------------------------------------------------


async def test_cancelled_command_does_not_wedge_the_line(quick: Modem, sim: SimulatorThread) -> None:
    sim.set_faults("sim1", slow=0.2)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(quick.read_smsc(), 0.05)
    sim.clear_faults("sim1")
    # The next commands get their own answers, not the late one of the cancelled command.
    assert (await quick.health()).rssi == 20
    assert await quick.read_smsc() == sim.sim.network.smsc  # type: ignore[union-attr]
    assert await quick.send(part()) == 0


async def test_cancelled_send_at_the_prompt_leaves_the_prompt(quick: Modem, sim: SimulatorThread) -> None:
    sim.set_faults("sim1", submit_delay=0.3)
    first = asyncio.ensure_future(quick.send(part("cancelled")))
    await asyncio.sleep(0.05)  # the PDU is in; +CMGS is on its way
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    sim.clear_faults("sim1")
    assert await quick.send(part("next")) == 1
    assert [r["text"] for r in sim.received()] == ["cancelled", "next"]

    sim.set_faults("sim1", slow=0.3)  # now cancel while waiting for the prompt itself
    second = asyncio.ensure_future(quick.send(part("never")))
    await asyncio.sleep(0.05)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    sim.clear_faults("sim1")
    assert await quick.send(part("after")) == 2
    assert [r["text"] for r in sim.received()] == ["cancelled", "next", "after"]
    assert (await quick.health()).registered


async def test_cancelled_commands_on_a_hung_modem_still_end_in_modem_gone(quick: Modem, sim: SimulatorThread) -> None:
    sim.set_faults("sim1", hang=True)
    deadline = time.monotonic() + 3.0
    while True:  # a caller that keeps giving up after 0.1 s
        try:
            await asyncio.wait_for(quick.health(), 0.1)
        except ModemGone:
            break
        except (TimeoutError, ModemTimeout):
            pass
        assert time.monotonic() < deadline, "a hung modem was never declared gone"
    assert quick.gone


async def test_closing_ends_commands_queued_behind_one_given_up_on(make_modem: Callable, sim: SimulatorThread) -> None:
    modem = await make_modem(url_of(sim, "pty"), dataclasses.replace(QUICK, command_timeout=5.0))
    await modem.initialize()
    sim.set_faults("sim1", hang=True)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(modem.health(), 0.1)  # seen through in the background for 5 s
    queued = asyncio.ensure_future(modem.health())
    await asyncio.sleep(0.05)
    start = time.monotonic()
    await modem.close()
    with pytest.raises(ModemGone):
        await queued
    assert time.monotonic() - start < 1.0
    with pytest.raises(ModemGone):
        await modem.health()  # closed: at once, without touching the port


async def test_a_late_answer_after_a_timeout_is_not_taken_for_the_next_commands(
    quick: Modem, sim: SimulatorThread
) -> None:
    # The modem answers AT+CSCA? after the caller gave up; the next command must still
    # get its own answer (+CSQ), not that late OK.
    sim.set_faults("sim1", slow=QUICK.command_timeout * 1.5)
    with pytest.raises(ModemTimeout):
        await quick.channel.command("AT+CSCA?", timeout=QUICK.command_timeout)
    sim.clear_faults("sim1")
    assert (await quick.channel.command("AT+CSQ", timeout=QUICK.command_timeout * 4))[0].startswith("+CSQ:")
    assert (await quick.channel.command("AT+CREG?"))[0].startswith("+CREG:")
