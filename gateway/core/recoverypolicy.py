"""When a modem that keeps failing to reopen gets more than another reopen: pure decisions.

The ladder, counted in failed reopen attempts in a row (the first is the one that found
the modem faulty):

1. below `reset_after`: reopen again (with the link's growing backoff);
2. at `reset_after`: a soft reset (`AT+CFUN=1,1` or the profile's equivalent), once per
   streak, since a modem that ignores one ignores the next;
3. then every `command_after` further failures: the operator's command (a USB power
   cycle with uhubctl, a relay), if one is configured; else reopening goes on.

A modem configured by IMEI is looked for on every reopen; that is part of reopening.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["RecoveryPlan", "Step", "next_step"]

Step = Literal["reopen", "soft_reset", "operator_command"]


@dataclass(frozen=True)
class RecoveryPlan:
    reset_after: int = 3
    command_after: int = 3
    has_command: bool = False


def next_step(plan: RecoveryPlan, failures: int) -> Step:
    """What to do after the `failures`-th failed reopen in a row (1-based)."""
    if failures < plan.reset_after:
        return "reopen"
    if failures == plan.reset_after:
        return "soft_reset"
    beyond = failures - plan.reset_after
    if plan.has_command and beyond % plan.command_after == 0:
        return "operator_command"
    return "reopen"
