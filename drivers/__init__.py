"""Modem-facing layer: SMS codec, AT protocol, modem driver, simulator.

Depends on nothing above it (`gateway`, `api`). The package's surface is the error tree of
`_exceptions` (its `__all__` is the one list of names)."""

from drivers import _exceptions
from drivers._exceptions import *  # noqa: F403

__all__ = list(_exceptions.__all__)
