"""Carrying out the recovery ladder of `recoverypolicy` for one modem: the I/O side.

The worker reports each failed reopen (`failed`) and each success (`recovered`); this
takes the step the policy names — a soft reset on the port, or the operator's command run
as an argv list (never through a shell) under a time limit — and keeps what GET
/v1/modems and /metrics show: the state, the last step and what came of it, the attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from gateway.core.recoverypolicy import RecoveryPlan, Step, next_step

__all__ = ["Recovery", "RecoveryStatus", "run_operator_command"]

log = logging.getLogger("modemgate.recovery")

RecoveryState = Literal["idle", "reopening", "soft_reset", "operator_command", "recovered"]


@dataclass
class RecoveryStatus:
    """What GET /v1/modems shows under `recovery`."""

    state: RecoveryState = "idle"
    attempts: int = 0  # failed reopens in a row
    last_step: Step | None = None
    last_result: str | None = None
    last_step_at: datetime | None = None
    steps: dict[str, int] = field(default_factory=lambda: {"reopen": 0, "soft_reset": 0, "operator_command": 0})


class Recovery:
    """One modem's recovery: the policy's plan and the two actions it can take."""

    def __init__(
        self,
        plan: RecoveryPlan,
        *,
        soft_reset: Callable[[], Awaitable[str]],
        operator_command: Callable[[], Awaitable[str]] | None = None,
        now: Callable[[], datetime],
        name: str = "modem",
    ) -> None:
        self.plan = plan
        self.status = RecoveryStatus()
        self._soft_reset = soft_reset
        self._operator_command = operator_command
        self._now = now
        self._name = name

    async def failed(self) -> Step:
        """A reopen failed: take the next step; returns which."""
        self.status.attempts += 1
        step = next_step(self.plan, self.status.attempts)
        if step == "operator_command" and self._operator_command is None:
            step = "reopen"
        self.status.state = "reopening" if step == "reopen" else step
        self.status.last_step = step
        self.status.last_step_at = self._now()
        self.status.steps[step] += 1
        if step == "reopen":
            self.status.last_result = None
            return step
        log.warning("%s: %d reopens failed; %s", self._name, self.status.attempts, step.replace("_", " "))
        action = self._soft_reset if step == "soft_reset" else self._operator_command
        assert action is not None
        try:
            self.status.last_result = await action()
        except Exception as exc:  # a failing step must not stop the reopening
            log.exception("%s: %s failed", self._name, step)
            self.status.last_result = f"{type(exc).__name__}: {exc}"
        log.warning("%s: %s: %s", self._name, step.replace("_", " "), self.status.last_result)
        return step

    def recovered(self) -> None:
        """The modem opened and initialised: the streak is over."""
        if self.status.attempts:
            self.status.state = "recovered"
            log.info("%s: back after %d failed reopens", self._name, self.status.attempts)
        self.status.attempts = 0


async def run_operator_command(argv: Sequence[str], *, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run `argv` (no shell) for at most `timeout` seconds; returns what came of it in words."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
    except OSError as exc:
        return f"not started: {exc.strerror or exc}"
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return f"killed after {timeout:g} s"
    except asyncio.CancelledError:  # the gateway is stopping: leave nothing running
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        raise
    if proc.returncode == 0:
        return "exit 0"
    tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] if stderr else []
    return f"exit {proc.returncode}" + (f": {tail[0][:200]}" if tail else "")
