"""Status reports through our driver: stored and indicated (+CDSI) or routed directly
(+CDS), matched by message reference, with the outcome the network reported."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from drivers.at.modem import Modem
from drivers.simulator.personalities import personality
from drivers.simulator.server import SimulatorThread, default_profile
from drivers.sms import SmsStatusReport, encode_submit
from tests.support.driver import RECIPIENT, both_transports, incoming, next_incoming, nothing_more, stored, url_of

pytestmark = pytest.mark.timeout(30)

OUTCOMES = [("delivered", "delivered"), ("temporary", "pending"), ("permanent", "failed")]


@pytest.fixture
def sim800(make_sim: Callable[..., SimulatorThread]) -> SimulatorThread:
    """A SIMCom SIM800, which cannot store status reports (no AT+CNMI <ds>=2), so the
    driver settles for having them routed directly (+CDS)."""
    return make_sim(profiles=[personality("simcom-sim800", default_profile(1))])


async def send(modem: Modem, text: str = "report me", *, report: bool = True) -> list[int]:
    parts = encode_submit(RECIPIENT, text, status_report=report)
    async with modem.multipart():
        return [await modem.send(part) for part in parts]


@both_transports
@pytest.mark.parametrize(("outcome", "category"), OUTCOMES)
async def test_stored_report_arrives_with_its_reference_and_outcome(
    modem: Modem, sim: SimulatorThread, outcome: str, category: str
) -> None:
    assert modem.routing == "2,1,0,2,0"
    await send(modem, "warm-up")  # so the reference under test is not 0
    await modem.acknowledge(await next_incoming(modem))
    sim.set_faults("sim1", report=outcome)
    (mr,) = await send(modem)
    report = await next_incoming(modem)
    assert isinstance(report.sms, SmsStatusReport) and report.is_status_report
    assert report.sms.message_reference == mr == 1
    assert report.sms.number == RECIPIENT
    assert report.sms.category == category
    assert report.location is not None and stored(sim) == [report.location.index]
    await modem.acknowledge(report)
    assert stored(sim) == []


@pytest.mark.parametrize(("outcome", "category"), OUTCOMES)
async def test_direct_report_arrives_with_its_reference_and_outcome(
    make_modem: Callable, sim800: SimulatorThread, outcome: str, category: str
) -> None:
    sim = sim800
    assert sim.call(lambda: sim.sim.modem("sim1").profile.model) == "SIMCOM_SIM800"  # type: ignore[union-attr]
    modem = await make_modem(url_of(sim, "pty"))
    await modem.initialize()
    assert modem.routing == "2,1,0,1,0"
    sim.set_faults("sim1", report=outcome)
    (mr,) = await send(modem)
    report = await next_incoming(modem)
    assert isinstance(report.sms, SmsStatusReport)
    assert (report.sms.message_reference, report.sms.category) == (mr, category)
    assert report.location is None
    await modem.acknowledge(report)  # nothing to free, and no error
    assert stored(sim) == []


async def test_each_part_of_a_long_message_gets_its_own_report(modem: Modem, sim: SimulatorThread) -> None:
    sim.set_faults("sim1", report_delay=0.1)
    mrs = await send(modem, "x" * 400)
    assert mrs == [0, 1, 2]
    reports = await incoming(modem, 3)
    assert sorted(r.sms.message_reference for r in reports) == mrs  # type: ignore[union-attr]
    assert {r.sms.category for r in reports} == {"delivered"}  # type: ignore[union-attr]


@both_transports
async def test_report_outcome_none_means_no_report(modem: Modem, sim: SimulatorThread) -> None:
    sim.set_faults("sim1", report="none")
    await send(modem)
    assert await nothing_more(modem) == []
    assert stored(sim) == []


async def test_no_report_requested_means_no_report(modem: Modem, sim: SimulatorThread) -> None:
    await send(modem, report=False)
    assert sim.received()[0]["status_report_request"] is False
    assert await nothing_more(modem) == []
