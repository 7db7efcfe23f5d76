"""`Modem.initialize()` against the simulator over a real pty and a real TCP socket:
identity, routing of new messages, storage, SMSC, SIM PIN, and AT+CNMI fallback."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

import pytest

from drivers import CmeError
from drivers.at import Action, classify
from drivers.at.modem import CNMI_CANDIDATES, _operator
from drivers.simulator.commands import HANDLERS
from drivers.simulator.framing import CommandFailed
from drivers.simulator.modem import SimulatedModem
from drivers.simulator.server import SimulatorThread, default_profile
from tests.support.driver import FAST, both_transports, commands_seen, on_sim, url_of

pytestmark = pytest.mark.timeout(30)


@both_transports
async def test_initialize_returns_the_identity_and_sets_routing_storage_and_smsc(
    make_modem: Callable, url: str, sim: SimulatorThread
) -> None:
    profile = default_profile(1)
    modem = await make_modem(url)
    identity = await modem.initialize()
    assert modem.identity == identity
    assert (identity.manufacturer, identity.model, identity.revision) == ("huawei", "E173", profile.revision)
    assert (identity.imei, identity.imsi) == (profile.imei, profile.imsi)

    assert modem.routing == CNMI_CANDIDATES[0] == "2,1,0,2,0"  # store and indicate, reports too
    assert on_sim(sim, "sim1", lambda m: m.s.cnmi) == [2, 1, 0, 2, 0]
    assert modem.memory == "SM"
    assert on_sim(sim, "sim1", lambda m: m.sms.cpms) == ["SM", "SM", "SM"]
    assert modem.smsc == sim.sim.network.smsc  # type: ignore[union-attr]
    assert on_sim(sim, "sim1", lambda m: (m.s.echo, m.s.cmee, m.s.cmgf)) == (False, 1, 0)


async def test_configured_smsc_and_storage_are_set_on_the_modem(make_modem: Callable, sim: SimulatorThread) -> None:
    config = dataclasses.replace(FAST, smsc="+31600000099", storage=("ME", "SM"))
    modem = await make_modem(url_of(sim, "pty"), config)
    await modem.initialize()
    assert modem.smsc == "+31600000099"
    assert on_sim(sim, "sim1", lambda m: m.csca) == "+31600000099"
    assert modem.memory == "ME"
    assert on_sim(sim, "sim1", lambda m: m.sms.cpms) == ["ME", "ME", "ME"]


@both_transports
async def test_sim_pin_from_the_config_unlocks_the_sim(
    make_sim: Callable, make_modem: Callable, transport: str
) -> None:
    sim = make_sim(profiles=[dataclasses.replace(default_profile(1), pin="4321")])
    assert on_sim(sim, "sim1", lambda m: m.sim.locked)
    modem = await make_modem(url_of(sim, transport), dataclasses.replace(FAST, pin="4321"))
    identity = await modem.initialize()
    assert identity.imsi == default_profile(1).imsi  # only readable with the SIM unlocked
    assert await modem.pin_state() == "READY"
    assert 'AT+CPIN="4321"' in commands_seen(sim)
    assert modem.routing == CNMI_CANDIDATES[0]


async def test_locked_sim_without_a_pin_is_cme_11_and_a_modem_fault(make_sim: Callable, make_modem: Callable) -> None:
    sim = make_sim(profiles=[dataclasses.replace(default_profile(1), pin="4321")])
    modem = await make_modem(url_of(sim, "pty"))
    with pytest.raises(CmeError) as caught:
        await modem.initialize()
    assert caught.value.code == 11
    assert classify(caught.value) is Action.MODEM_FAULT
    assert not any(c.startswith("AT+CPIN=") for c in commands_seen(sim))  # no guessing


async def test_wrong_pin_is_incorrect_password_and_a_modem_fault(make_sim: Callable, make_modem: Callable) -> None:
    sim = make_sim(profiles=[dataclasses.replace(default_profile(1), pin="4321")])
    modem = await make_modem(url_of(sim, "pty"), dataclasses.replace(FAST, pin="0000"))
    with pytest.raises(CmeError) as caught:
        await modem.initialize()
    assert caught.value.code == 16
    assert classify(caught.value) is Action.MODEM_FAULT
    assert on_sim(sim, "sim1", lambda m: m.sim.pin_attempts) == 2  # one try only, never three


# --- AT+CNMI fallback ---------------------------------------------------------------------
# The simulator accepts every AT+CNMI candidate and its profile has no setting to refuse
# some, so these tests wrap its AT+CNMI handler for their duration.


@pytest.fixture
def refuse_cnmi(monkeypatch: pytest.MonkeyPatch) -> Callable[[Iterable[str]], None]:
    """Make simulated modems answer +CMS ERROR: 303 to AT+CNMI=<setting> for the given
    settings (or, with "*", to every AT+CNMI=...), and ERROR to AT+CNMI=? (so the driver
    does not learn what is offered and goes down its own list)."""

    def refuse(settings: Iterable[str]) -> None:
        refused = set(settings)
        original = HANDLERS["+CNMI"]

        def cnmi(m: SimulatedModem, form: str, args: list[str]) -> list[str]:
            if form == "set" and ("*" in refused or ",".join(args) in refused):
                raise CommandFailed("CMS", 303)
            if form == "test":
                raise CommandFailed("ERROR")
            return original(m, form, args)  # type: ignore[no-any-return]

        monkeypatch.setitem(HANDLERS, "+CNMI", cnmi)

    return refuse


@pytest.mark.parametrize("refused", [1, 2, 4, len(CNMI_CANDIDATES) - 1])
async def test_cnmi_falls_back_to_the_first_candidate_the_modem_accepts(
    refuse_cnmi: Callable, make_modem: Callable, sim: SimulatorThread, refused: int
) -> None:
    refuse_cnmi(CNMI_CANDIDATES[:refused])
    modem = await make_modem(url_of(sim, "pty"))
    await modem.initialize()
    chosen = CNMI_CANDIDATES[refused]
    assert modem.routing == chosen
    tried = [c.removeprefix("AT+CNMI=") for c in commands_seen(sim) if c.startswith("AT+CNMI=") and c[-1] != "?"]
    assert tried == list(CNMI_CANDIDATES[: refused + 1])
    values = [int(v) for v in chosen.split(",")]
    assert on_sim(sim, "sim1", lambda m: m.s.cnmi[: len(values)]) == values


async def test_no_cnmi_accepted_leaves_routing_off_and_initialize_still_succeeds(
    refuse_cnmi: Callable, make_modem: Callable, sim: SimulatorThread
) -> None:
    refuse_cnmi("*")
    modem = await make_modem(url_of(sim, "pty"))
    await modem.initialize()
    assert modem.routing is None
    assert len([c for c in commands_seen(sim) if c.startswith("AT+CNMI=") and c[-1] != "?"]) == len(CNMI_CANDIDATES)


@both_transports
async def test_health_reads_signal_registration_and_the_operator(
    make_modem: Callable, url: str, sim: SimulatorThread
) -> None:
    modem = await make_modem(url)
    await modem.initialize()
    health = await modem.health()
    assert health.registered and health.rssi is not None
    assert health.operator == default_profile(1).operator  # +COPS: 0,0,"SimNet",…


@pytest.mark.parametrize(
    ("lines", "operator"),
    [
        (['+COPS: 0,0,"Vodafone NL",7'], "Vodafone NL"),
        (['+COPS: 0,2,"20404",2'], "20404"),  # numeric format
        (["+COPS: 0"], None),  # not registered: no operator field
        (["^NWTIME: 18/03/09,12:36:21+4,00", '+COPS: 1,0,"KPN"'], "KPN"),  # a vendor line inside
    ],
)
def test_the_operator_is_read_from_the_cops_answer(lines: list[str], operator: str | None) -> None:
    assert _operator(lines) == operator
