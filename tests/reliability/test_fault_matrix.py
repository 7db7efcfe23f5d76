"""Every simulated fault, set on one of three modems under mixed traffic: each message ends
in its right state, none is left queued or sending, and a faulty modem shows as faulty.

The cases and the run are `harness/faultmatrix.py`'s (one table for these tests and for
`bench/faults.py`, which runs them with more traffic and writes BENCHMARKS.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.at.errors import CMS_ERRORS, Action
from harness.faultmatrix import CASES, FaultCase, check, run_case

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

MESSAGES = 9  # a third each single GSM-7, multipart GSM-7, multipart UCS-2


def test_the_matrix_has_a_cms_error_of_every_action_class() -> None:
    actions = {CMS_ERRORS[c.faults["cms_error"]].action for c in CASES if "cms_error" in c.faults}
    assert actions == set(Action)
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [c for c in CASES if c.open_issue is None], ids=lambda c: c.id)
def test_every_message_ends_right_under_the_fault(case: FaultCase, tmp_path: Path) -> None:
    outcome = run_case(case, MESSAGES, workdir=tmp_path)
    problems = check(outcome)
    assert not problems, f"{case.fault}: {dict(outcome.by_status())}\n" + "\n".join(problems)


# The faults that meet the driver's reading of the line (a hang and its resync, garbage, a
# port that vanishes, an error answer), again on Huawei sticks that send ^RSSI / ^HCSQ /
# ^DSFLOWRPT lines every 50 ms, inside answers and between them.
NOISY = "?profile=huawei-e3372&noise_every=0.05"


@pytest.mark.parametrize("case", [c for c in CASES if c.id in ("hang", "garbage", "disconnect", "cms500-unknown-error")],
                         ids=lambda c: c.id)  # fmt: skip
def test_the_fault_ends_right_on_chatty_huawei_modems_too(case: FaultCase, tmp_path: Path) -> None:
    outcome = run_case(case, MESSAGES, workdir=tmp_path, port_query=NOISY)
    problems = check(outcome)
    assert not problems, f"{case.fault} with noise: {dict(outcome.by_status())}\n" + "\n".join(problems)
