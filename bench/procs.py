"""Processes and measures shared by the soak and gammu-smsd benchmarks.

They extend the integration tests' harness (`tests/integration/livegateway.py`), which
this module puts on `sys.path` together with the repository; the harness's names the
benchmarks use are re-exported here.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # pgschema: the tests' throw-away PostgreSQL schemas
sys.path.insert(0, str(ROOT / "tests" / "integration"))  # the integration tests' process harness

import livegateway  # noqa: E402
from livegateway import (  # noqa: E402
    GatewayProcess,
    ModemSpec,
    SimulatorProcess,
    free_port,
    journal_messages,
    mixed_messages,
    part_key,
    wait_until,
)

__all__ = [
    "GatewayProcess",
    "ModemSpec",
    "PtySimulator",
    "SimulatorProcess",
    "journal_messages",
    "mixed_messages",
    "part_key",
    "percentile",
    "wait_until",
]


class PtySimulator(SimulatorProcess):
    """`modemgate simulate --pty …`: each modem on a pseudo-terminal as well as on TCP.

    `ptys` maps a modem to its terminal's path, which gammu and `modemgate serve` both
    open like a USB modem's serial port.
    """

    def __init__(self, modems: int, workdir: Path, *, name: str = "sim") -> None:  # noqa: D107
        # Not SimulatorProcess.__init__, which starts the simulator without --pty; the
        # attributes its other methods use are the same.
        self.workdir, self.log_path = workdir, workdir / f"{name}.log"
        self.journal_path = workdir / f"{name}-journal.jsonl"
        self.control_port = port = free_port()
        self.control = f"http://127.0.0.1:{port}"
        self._log = open(self.log_path, "w")
        command = [*livegateway.MODEMGATE, "simulate", "--modems", str(modems), "--pty", "--tcp", "127.0.0.1:0",
                   "--control", f"127.0.0.1:{port}", "--journal", str(self.journal_path)]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._log, text=True,
                                     cwd=workdir, env=livegateway._ENV)
        self.urls: dict[str, str] = {}
        self.numbers: dict[str, str] = {}
        self.ptys: dict[str, str] = {}
        for line in livegateway._read_lines(self.proc, modems, timeout=20):
            sim_id, *fields = line.split()
            values = dict(f.split("=", 1) for f in fields)
            self.urls[sim_id] = values["tcp"]
            self.numbers[sim_id] = values["number"]
            self.ptys[sim_id] = values["pty"]
        wait_until(self._control_up, timeout=10, what="the simulator control API")


def percentile(values: list[float], pct: int) -> float:
    """Linear interpolation between closest ranks (pct 1-99), as numpy's default."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]
