"""The device families the project claims, each replayed from its recording
(tests/recordings/, written from public facts) by the simulator behind the real gateway:
probe, a single and a multipart send, their status reports, an inbound message, and the
modem still ready at the end."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from drivers.at.modem import ModemConfig, open_modem
from drivers.at.probe import probe
from drivers.simulator.replay import load_replay
from drivers.simulator.server import SimulatorThread, default_profile
from gateway.core.settings import ModemSettings, Settings
from tests.support.api import running_api, wait_for

# About 3 s each: the gateway's start-up, and the recorded devices' own answer times.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"
FAMILIES = sorted(p.stem for p in RECORDINGS.glob("*.jsonl"))

MULTIPART = "Recorded devices get the same care: " + "a long reply that needs more than one part " * 5


def test_every_claimed_family_has_a_recording() -> None:
    makers = {name.split("-")[0] for name in FAMILIES}
    assert makers >= {
        "huawei",
        "zte",
        "simcom",
        "quectel",
        "sierra",
        "telit",
        "cinterion",
        "siemens",
        "wavecom",
        "nokia",
    }
    assert {n for n in FAMILIES if n.startswith("huawei")} >= {
        "huawei-e173",
        "huawei-e1752",
        "huawei-e3131",
        "huawei-e3372",
    }


def recorded(path: Path, command: str) -> str | None:
    return load_replay(path).first_line(command)


async def probe_replay(path: Path) -> dict[str, Any]:
    with SimulatorThread(
        1, pty=False, tcp=("127.0.0.1", 0), profiles=[default_profile(1, replay=load_replay(path))]
    ) as sim:
        url = sim.endpoints["sim1"].tcp_url
        assert url is not None
        modem = await open_modem(url, ModemConfig(command_timeout=2.0, hang_after=2))
        try:
            return await probe(modem)
        finally:
            await modem.close()


@pytest.mark.parametrize("family", FAMILIES)
def test_recorded_device_probes_sends_reports_and_receives(family: str, tmp_path: Path) -> None:
    path = RECORDINGS / f"{family}.jsonl"
    maker, model = recorded(path, "AT+CGMI"), recorded(path, "AT+CGMM")

    info = asyncio.run(probe_replay(path))
    assert (info["manufacturer"], info["model"]) == (maker, model)
    assert info["pin"] == "READY"
    assert info["registration"] in ("home", "roaming")
    answer = load_replay(path).decide("AT+CPMS?", 0)
    assert answer is not None
    storage = next(line for line in answer.lines if line.startswith("+CPMS:"))  # not ^NWTIME's line
    assert info["storage"] == storage.split(":", 1)[1].strip()

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'gw.db'}",
        default_region="NL",
        modems=[ModemSettings(id="dev", port=f"sim://dev?replay={path}", sends_per_minute=600, burst=10, daily_cap=0)],
    )
    with running_api(settings) as api:
        identity = api.modems()["dev"]["identity"]
        assert (identity["manufacturer"], identity["model"]) == (maker, model)

        single = api.send("one part from a recorded device", to="+31612340001")
        multi = api.send(MULTIPART, to="+31612340002")
        for message in (single, multi):
            done = api.wait_delivered(message["id"], timeout=15)
            assert all(p["status"] == "delivered" for p in done["parts"]), done
        assert len(api.message(multi["id"])["parts"]) > 1

        network = api.get("/v1/simulator/network").json()["messages"]
        texts = sorted(m["text"] for m in network)
        assert texts == sorted(["one part from a recorded device", MULTIPART])  # each once, whole

        response = api.post("/v1/simulator/inbound", json={"modem": "dev", "sender": "+31687650000", "text": "hi back"})
        assert response.status_code == 202, response.text
        wait_for(
            lambda: any(m["text"] == "hi back" for m in api.get("/v1/inbox").json()["items"]),
            5,
            "the inbound message in the inbox",
            last=lambda: api.modems()["dev"],
        )
        # Status reports stay on (AT+CNMI <ds> 1 or 2) wherever the device can route them.
        simulated = api.gateway.simulated
        assert simulated is not None
        cnmi = simulated.simulator.modems[simulated.sim_ids["dev"]].s.cnmi
        assert cnmi[3] in (1, 2), cnmi
        modem = api.modems()["dev"]
        assert modem["state"] == "ready", modem
        assert modem["counters"]["faults"] == 0, modem


@pytest.mark.parametrize("family", ["wavecom-multiband", "nokia-n79"])
def test_recorded_device_on_a_pty_sends_and_receives(family: str, tmp_path: Path) -> None:
    """The same over a pseudo-terminal, the way a USB modem's tty is opened."""
    path = RECORDINGS / f"{family}.jsonl"
    with SimulatorThread(1, pty=True, profiles=[default_profile(1, replay=load_replay(path))]) as sim:
        pty = sim.endpoints["sim1"].pty
        assert pty is not None
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'gw.db'}",
            default_region="NL",
            modems=[ModemSettings(id="dev", port=pty, sends_per_minute=600, burst=10, daily_cap=0)],
        )
        with running_api(settings) as api:
            assert api.modems()["dev"]["identity"]["model"] == recorded(path, "AT+CGMM")
            message = api.send(MULTIPART, to="+31612340003")
            api.wait_delivered(message["id"], timeout=15)
            assert [m["text"] for m in sim.messages()] == [MULTIPART]
            sim.inbound("sim1", "+31687650001", "over the pty")
            wait_for(
                lambda: any(m["text"] == "over the pty" for m in api.get("/v1/inbox").json()["items"]),
                5,
                "the inbound message in the inbox",
            )
            assert api.modems()["dev"]["state"] == "ready"
