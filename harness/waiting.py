"""Waiting for something another thread or process does: poll until it is true."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float,
    what: str = "condition",
    interval: float = 0.1,
    last: Callable[[], Any] | None = None,
) -> T:
    """Poll `predicate` until it returns something truthy, and return that; AssertionError
    after `timeout` seconds, naming `what` and the last value seen (or `last()`)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            seen = last() if last is not None else value
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; last seen: {seen!r}")
        time.sleep(interval)
