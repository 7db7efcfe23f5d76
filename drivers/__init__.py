"""Modem-facing layer: SMS codec, AT protocol, modem driver, simulator.

Depends on nothing above it (`gateway`, `api`)."""

from drivers._exceptions import (
    AtError,
    AtProtocolError,
    CmeError,
    CmsError,
    CommandError,
    ConfigError,
    ModemGone,
    ModemgateError,
    ModemTimeout,
    PduError,
)

__all__ = [
    "ModemgateError",
    "PduError",
    "AtError",
    "AtProtocolError",
    "CmsError",
    "CmeError",
    "CommandError",
    "ModemTimeout",
    "ModemGone",
    "ConfigError",
]
