"""A soft reset of a modem that stopped answering: `AT+CFUN=1,1` or the vendor's equivalent.

Sent on a port of its own (the hung session is closed first). Many firmwares still obey a
reset when their SMS stack is stuck; the modem then reboots and drops off the port for a
while, so an answer is not required: the next reopen tells whether it worked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from drivers._exceptions import AtError
from drivers.at.channel import AtChannel
from drivers.at.transport import Transport, open_transport

__all__ = ["soft_reset", "DEFAULT_RESET"]

DEFAULT_RESET = "AT+CFUN=1,1"  # 3GPP TS 27.007 §8.2: full functionality after a reset


async def soft_reset(
    url: str,
    command: str = DEFAULT_RESET,
    *,
    timeout: float = 5.0,
    transport: Callable[[str], Awaitable[Transport]] = open_transport,
) -> str:
    """Send `command` to the modem on `url`; returns what came of it, in words
    ("OK", "no answer", the error), for the modem's status."""
    try:
        port = await transport(url)
    except AtError as exc:
        return f"port not opened: {exc}"
    channel = AtChannel(port, hang_after=1, name=url)
    try:
        await channel.write_raw(b"\x1b\r")
        await channel.command(command, timeout=timeout)
        return "OK"
    except AtError as exc:
        return "no answer" if "no answer" in str(exc) else str(exc)
    finally:
        with contextlib.suppress(Exception):
            await channel.close()
