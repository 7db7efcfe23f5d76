"""Logs: phone numbers masked below DEBUG, JSON lines when asked for."""

from __future__ import annotations

import io
import json
import logging

import pytest

from gateway.core.logs import configure, mask_numbers


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("sending to +31612345678 now", "sending to +3161*****78 now"),
        ("from 0612345678:", "from 0612****78:"),
        ("message 4f02bd04-0000-4000-8000-000000000000 sent", "message 4f02bd04-0000-4000-8000-000000000000 sent"),
        ("PDU 0011000B911326880736F40000A7", "PDU 0011000B911326880736F40000A7"),
        ("retry in 300 s, mr 17", "retry in 300 s, mr 17"),
    ],
)
def test_numbers_are_masked_and_ids_left_alone(line: str, masked: str) -> None:
    assert mask_numbers(line) == masked


def _logged(level: str, fmt: str = "text") -> str:
    logger = logging.getLogger(f"modemgate.test.{level}.{fmt}")
    logger.propagate = False
    out = io.StringIO()
    handler = configure(logger, fmt=fmt, level=level, stream=out)  # type: ignore[arg-type]
    try:
        logger.warning("message to %s failed", "+31612345678")
    finally:
        logger.removeHandler(handler)
    return out.getvalue()


def test_info_logs_mask_numbers_and_debug_logs_show_them() -> None:
    assert "+3161*****78" in _logged("INFO") and "+31612345678" not in _logged("INFO")
    assert "+31612345678" in _logged("DEBUG")


def test_json_lines_carry_level_logger_and_masked_message() -> None:
    entry = json.loads(_logged("INFO", "json"))
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "modemgate.test.INFO.json"
    assert entry["message"] == "message to +3161*****78 failed"
    assert entry["time"].endswith("+00:00")
