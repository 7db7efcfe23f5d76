"""IANA time zone names as people type them: the canonical spelling, or InvalidInput."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from gateway.core.errors import InvalidInput

__all__ = ["canonical_zone", "check_time_zone"]


def check_time_zone(name: str, *, field: str = "time_zone") -> str:
    """The canonical IANA name for `name` (any letter case); InvalidInput if there is none."""
    canonical = canonical_zone(name)
    if canonical is None:
        raise InvalidInput(field, f"{name!r} is not an IANA time zone such as Europe/Amsterdam")
    return canonical


def canonical_zone(name: str) -> str | None:
    """The canonical IANA name for `name` (any letter case), or None."""
    return _zones().get(name.strip().lower())


@lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    return {z.lower(): z for z in zoneinfo.available_timezones() if z != "Etc/Unknown"}
