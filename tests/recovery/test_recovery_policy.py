"""The recovery ladder's decisions, and the operator's command run without a shell."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from gateway.core.recovery import run_operator_command
from gateway.core.recoverypolicy import RecoveryPlan, next_step
from gateway.core.settings import ModemSettings

pytestmark = pytest.mark.timeout(30)

WITH_COMMAND = RecoveryPlan(reset_after=3, command_after=2, has_command=True)
WITHOUT = RecoveryPlan(reset_after=3, command_after=2, has_command=False)


@pytest.mark.parametrize(
    ("plan", "failures", "step"),
    [
        (WITH_COMMAND, 1, "reopen"),
        (WITH_COMMAND, 2, "reopen"),
        (WITH_COMMAND, 3, "soft_reset"),  # the N-th failed reopen in a row
        (WITH_COMMAND, 4, "reopen"),
        (WITH_COMMAND, 5, "operator_command"),  # command_after more
        (WITH_COMMAND, 6, "reopen"),
        (WITH_COMMAND, 7, "operator_command"),  # and again every command_after
        (WITHOUT, 3, "soft_reset"),
        (WITHOUT, 5, "reopen"),  # no command configured: reopening goes on
        (WITHOUT, 30, "reopen"),  # one soft reset per streak
        (RecoveryPlan(reset_after=1, command_after=1, has_command=True), 1, "soft_reset"),
        (RecoveryPlan(reset_after=1, command_after=1, has_command=True), 2, "operator_command"),
    ],
)
def test_recovery_escalates_after_failed_reopens(plan: RecoveryPlan, failures: int, step: str) -> None:
    assert next_step(plan, failures) == step


async def test_operator_command_runs_as_argv_and_reports_its_exit(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = "import os, sys; open(sys.argv[1], 'w').write(os.environ['MODEMGATE_MODEM']); sys.exit(0)"
    # A ; in an argument is an argument, never a second command.
    argv = [sys.executable, "-c", code, str(marker), "; touch " + str(tmp_path / "injected")]
    assert await run_operator_command(argv, timeout=10, env={"MODEMGATE_MODEM": "m1"}) == "exit 0"
    assert marker.read_text() == "m1"
    assert not (tmp_path / "injected").exists()


async def test_operator_command_failure_timeout_and_absence_are_reported() -> None:
    failing = [sys.executable, "-c", "import sys; print('hub 3 not found', file=sys.stderr); sys.exit(3)"]
    assert await run_operator_command(failing, timeout=10) == "exit 3: hub 3 not found"
    sleeping = [sys.executable, "-c", "import time; time.sleep(30)"]
    assert await run_operator_command(sleeping, timeout=0.3) == "killed after 0.3 s"
    assert (await run_operator_command(["/nonexistent/uhubctl"], timeout=1)).startswith("not started")


def test_settings_take_the_command_as_argv_or_a_string_split_without_a_shell() -> None:
    m = ModemSettings(id="m1", port="/dev/ttyUSB0", recovery_command="uhubctl -a cycle -l '1-1' -p 3")
    assert m.recovery_command == ["uhubctl", "-a", "cycle", "-l", "1-1", "-p", "3"]
    m = ModemSettings(id="m1", port="/dev/ttyUSB0", recovery_command=["relay", "off; on"])
    assert m.recovery_command == ["relay", "off; on"]
    with pytest.raises(ValueError, match="recovery_command"):
        ModemSettings(id="m1", port="/dev/ttyUSB0", recovery_command="uhubctl 'unclosed")


def test_a_port_given_by_imei_must_be_one() -> None:
    assert ModemSettings(id="m1", port="imei:353142041234560").imei == "353142041234560"
    assert ModemSettings(id="m1", port="/dev/ttyUSB0").imei is None
    with pytest.raises(ValueError, match="IMEI"):
        ModemSettings(id="m1", port="imei:12ab")


async def test_a_stop_while_the_operator_command_runs_leaves_nothing_running(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(30)"
    task = asyncio.ensure_future(run_operator_command([sys.executable, "-c", code, str(pid_file)], timeout=60))
    for _ in range(1000):  # up to 20 s: a loaded machine starts a Python slowly
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    status = Path(f"/proc/{pid_file.read_text()}/status")
    for _ in range(500):
        if not status.exists() or "State:\tZ" in status.read_text():
            break
        await asyncio.sleep(0.02)
    assert not status.exists() or "State:\tZ" in status.read_text()  # killed (a zombie until reaped)
