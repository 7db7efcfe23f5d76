"""In-process simulated modems for `sim://` ports (the default with no modems configured).

The simulator runs in the gateway's own event loop and listens on loopback TCP; the
gateway then opens `socket://127.0.0.1:<port>` with the same pyserial driver it uses for
real modems, so a fresh install exercises the real send path end to end.
"""

from __future__ import annotations

from drivers.simulator.replay import Replay, load_replay
from drivers.simulator.server import Simulator, default_profile
from gateway.core.settings import ModemSettings

__all__ = ["SimulatedModems", "start_simulated_modems"]


class SimulatedModems:
    """The running simulator and the real port URL behind each `sim://` modem."""

    def __init__(self, simulator: Simulator, urls: dict[str, str], ids: dict[str, str]) -> None:
        self.simulator = simulator
        self.urls = urls  # gateway modem id -> socket://127.0.0.1:port
        self.sim_ids = ids  # gateway modem id -> simulator modem id

    def close(self) -> None:
        self.simulator.close()


async def start_simulated_modems(modems: list[ModemSettings]) -> SimulatedModems | None:
    """Start one simulated modem per `sim://` entry; None when there are none."""
    simulated = [m for m in modems if m.simulated]
    if not simulated:
        return None
    profiles = [
        default_profile(i, *m.simulated_options, replay=_replay(m.simulated_replay)) for i, m in enumerate(simulated, 1)
    ]
    sim = Simulator(len(simulated), profiles=profiles)
    endpoints = await sim.expose(tcp=("127.0.0.1", 0))
    urls: dict[str, str] = {}
    ids: dict[str, str] = {}
    for settings, endpoint in zip(simulated, endpoints, strict=True):
        assert endpoint.tcp_url is not None
        urls[settings.id] = endpoint.tcp_url
        ids[settings.id] = endpoint.modem_id
    return SimulatedModems(sim, urls, ids)


def _replay(path: str | None) -> Replay | None:
    return load_replay(path) if path else None
