"""Every error a modemgate user can see, in one tree.

    ModemgateError
    ├── PduError            malformed or unencodable SMS PDU / text (has .offset)
    ├── AtError             anything that went wrong talking AT to a modem
    │   ├── AtProtocolError   bytes from the modem that make no sense
    │   ├── CmsError          +CMS ERROR: <code>  (3GPP TS 27.005 §3.2.5)
    │   ├── CmeError          +CME ERROR: <code>  (3GPP TS 27.007 §9.2)
    │   ├── CommandError      plain ERROR / NO CARRIER / other failing final result
    │   ├── ModemTimeout      no final result within the command's time limit
    │   └── ModemGone         the port closed or vanished
    └── ConfigError         invalid settings

The layers above (`gateway`, `api`) subclass these; they never catch bare
Exception to hide one of them.
"""

from __future__ import annotations

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


class ModemgateError(Exception):
    """Base of every error raised on purpose by modemgate."""


class PduError(ModemgateError, ValueError):
    """A PDU could not be decoded, or a text could not be encoded.

    `offset` is the octet offset into the PDU (SMSC prefix included) where
    decoding failed, or None when the error is not about a position.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        if offset is not None:
            message = f"{message} (at octet {offset})"
        super().__init__(message)


class AtError(ModemgateError):
    """Base for errors talking AT to a modem.

    `command` is the AT command that got this answer (set by the channel that ran it),
    or None when the error is not one command's (a port that would not open).
    """

    command: str | None = None


class AtProtocolError(AtError):
    """The modem sent bytes that cannot be parsed as an AT response."""


class CmsError(AtError):
    """`+CMS ERROR: <code>` — message service failure (3GPP TS 27.005 §3.2.5)."""

    def __init__(self, code: int | None, text: str = "") -> None:
        self.code = code
        self.text = text
        super().__init__(f"+CMS ERROR: {code if code is not None else text}")


class CmeError(AtError):
    """`+CME ERROR: <code>` — mobile equipment failure (3GPP TS 27.007 §9.2)."""

    def __init__(self, code: int | None, text: str = "") -> None:
        self.code = code
        self.text = text
        super().__init__(f"+CME ERROR: {code if code is not None else text}")


class CommandError(AtError):
    """A command ended in `ERROR` (or another failing final result) with no code."""


class ModemTimeout(AtError):
    """No final result arrived within the command's time limit."""


class ModemGone(AtError):
    """The port was closed, unplugged or otherwise stopped answering at the OS level."""


class ConfigError(ModemgateError):
    """Settings that cannot work; raised once, at start."""
