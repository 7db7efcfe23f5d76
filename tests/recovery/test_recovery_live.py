"""Recovery without a person, against the real gateway and simulated modems on TCP: a modem
that hangs for good is soft-reset and comes back; one that moved to another port is found
again by its IMEI; the operator's command runs when a reset does not help. Every step shows
in GET /v1/modems and /metrics."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from drivers.simulator.server import SimulatorThread, default_profile
from gateway.campaigns.wiring import marketing
from gateway.core.runtime import Gateway, Timing
from gateway.core.settings import ModemSettings, Settings
from tests.support.api import Api, SkewClock, add_key, wait_for

pytestmark = pytest.mark.timeout(60)

# Short time limits, so that a hung modem is seen as such (and a reopen fails) in about a second.
QUICK = Timing(
    idle_poll=0.05,
    health_interval=0.2,
    storage_poll=1.0,
    webhook_poll=0.2,
    command_timeout=0.3,
    send_timeout=3.0,
    reconnect_initial=0.05,
    reconnect_max=0.2,
)


@contextmanager
def gateway_api(
    tmp_path: Path, modems: list[ModemSettings], ports: Callable[[], list[str]] | None = None
) -> Iterator[Api]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'gw.db'}", default_region="NL", modems=modems)
    clock = SkewClock()
    extra: dict[str, Any] = {"ports": ports} if ports is not None else {}
    gateway = Gateway(settings, clock=clock, timing=QUICK, extensions=marketing(settings), **extra)
    app = create_app(settings, gateway=gateway)
    try:
        with TestClient(app) as client:
            key, key_id = add_key(gateway, "tests")
            yield Api(client, app, gateway, clock, key, key_id)
    finally:
        gateway.engine.dispose()


def fast(modem_id: str, port: str, **settings: Any) -> ModemSettings:
    return ModemSettings(id=modem_id, port=port, sends_per_minute=600, burst=10, daily_cap=0, **settings)


def metric(api: Api, name: str, **labels: str) -> float | None:
    text = api.client.get("/metrics").text
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} "):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.mark.slow  # about 5 s: hang detection and two failed reopens, with short time limits
def test_a_modem_that_hangs_for_good_is_soft_reset_and_comes_back(tmp_path: Path) -> None:
    with gateway_api(tmp_path, [fast("m1", "sim://m1", reset_after=2)]) as api:
        api.wait_ready()
        sim = api.post("/v1/simulator/faults", json={"modem": "m1", "hang_until_reset": True})
        assert sim.status_code == 200, sim.text

        # Hung: out of service, reopened twice in vain, then reset, and back.
        wait_for(lambda: api.modems()["m1"]["state"] == "faulty", 10, "m1 faulty")
        back = wait_for(
            lambda: (m := api.modems()["m1"])["state"] == "ready" and m["recovery"]["state"] == "recovered" and m,
            20,
            "m1 back after a soft reset",
            last=lambda: api.modems()["m1"],
        )
        recovery = back["recovery"]
        assert recovery["last_step"] == "soft_reset" and recovery["last_result"] == "OK", recovery
        assert recovery["steps"]["soft_reset"] == 1 and recovery["steps"]["reopen"] >= 1, recovery
        assert recovery["attempts"] == 0
        assert metric(api, "modemgate_modem_recovery_steps_total", modem="m1", step="soft_reset") == 1.0

        message = api.send("after the reset")
        assert api.wait_delivered(message["id"])["modem"] == "m1"


@pytest.mark.slow  # about 5 s, as above
def test_the_operator_command_runs_when_a_reset_does_not_help(tmp_path: Path) -> None:
    marker = tmp_path / "power-cycled"
    code = "import os, sys; open(sys.argv[1], 'a').write(os.environ['MODEMGATE_MODEM'] + '\\n')"
    argv = [sys.executable, "-c", code, str(marker)]
    modem = fast("m1", "sim://m1", reset_after=1, recovery_command=argv, recovery_command_after=1)
    with gateway_api(tmp_path, [modem]) as api:
        api.wait_ready()
        api.post("/v1/simulator/faults", json={"modem": "m1", "hang": True})  # deaf to a reset too
        status = wait_for(
            lambda: (m := api.modems()["m1"])["recovery"]["steps"]["operator_command"] >= 1 and m,
            20,
            "the operator's command",
            last=lambda: api.modems()["m1"],
        )
        assert status["state"] == "faulty"
        assert status["recovery"]["steps"]["soft_reset"] == 1, status["recovery"]
        wait_for(lambda: marker.exists() and marker.read_text().startswith("m1\n"), 5, "the command's mark")
        ran = metric(api, "modemgate_modem_recovery_steps_total", modem="m1", step="operator_command")
        assert ran is not None and ran >= 1.0

        # Once the modem answers again (as after a power cycle), it is simply reopened.
        simulated = api.gateway.simulated
        assert simulated is not None
        api.gateway.call_in_loop(simulated.simulator.clear_faults, simulated.sim_ids["m1"])
        wait_for(lambda: api.modems()["m1"]["state"] == "ready", 20, "m1 ready again")


@pytest.mark.slow  # about 3 s: three simulated modems and a relocation
def test_a_modem_that_moved_port_is_found_again_by_its_imei(tmp_path: Path) -> None:
    # sim2 and sim3 are one modem (one IMEI) seen at two ports: it leaves sim2 and
    # reappears at sim3, as a stick does at another /dev/ttyUSBn after a re-plug.
    moving = default_profile(2)
    profiles = [default_profile(1), moving, dataclasses.replace(moving)]
    with SimulatorThread(3, pty=False, tcp=("127.0.0.1", 0), profiles=profiles) as sim:
        urls = {m: ep.tcp_url for m, ep in sim.endpoints.items()}
        sim.set_faults("sim3", disconnect=True)  # not plugged in yet
        present = [urls["sim1"], urls["sim2"]]
        modems = [fast("other", str(urls["sim1"])), fast("stick", f"imei:{moving.imei}")]
        with gateway_api(tmp_path, modems, ports=lambda: list(present)) as api:
            ready = wait_for(
                lambda: (m := api.modems()) and all(x["state"] == "ready" for x in m.values()) and m,
                20,
                "both modems ready",
                last=api.modems,
            )
            assert ready["stick"]["port"] == urls["sim2"]
            assert ready["stick"]["identity"]["imei"] == moving.imei

            sim.set_faults("sim2", disconnect=True)  # unplugged …
            sim.clear_faults("sim3")  # … and back at another port
            present[1] = str(urls["sim3"])
            moved = wait_for(
                lambda: (m := api.modems()["stick"])["state"] == "ready" and m["port"] == urls["sim3"] and m,
                20,
                "the stick found at its new port",
                last=lambda: api.modems()["stick"],
            )
            assert moved["identity"]["imei"] == moving.imei
            assert api.modems()["other"]["port"] == urls["sim1"]  # the other modem was left alone

            message = api.send("from the stick", modem="stick")
            api.wait_delivered(message["id"])
            senders = {r["modem"] for r in sim.received() if r["text"] == "from the stick"}
            assert senders == {"sim3"}
