"""Finding a modem by its IMEI among the serial ports present, for `port = "imei:…"`.

USB modems come back under another `/dev/ttyUSBn` after a re-plug or a hub reset, and
several identical sticks have no serial number to tell their `/dev/serial/by-id` names
apart. The IMEI (AT+CGSN) is theirs alone: each candidate port is opened in turn, asked
for it with a short time limit, and closed. The list of candidates is injectable, so
tests hand in simulator ports.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterable

from drivers._exceptions import AtError
from drivers.at.channel import AtChannel
from drivers.at.transport import Transport, open_transport

__all__ = ["find_by_imei", "read_imei", "serial_ports"]

log = logging.getLogger("modemgate.locate")

_IMEI = re.compile(r"(\d{14,16})")


def serial_ports() -> list[str]:
    """Device paths of the serial ports present (pyserial's list_ports)."""
    from serial.tools import list_ports

    return sorted(port.device for port in list_ports.comports())


async def read_imei(
    url: str,
    *,
    timeout: float = 2.0,
    transport: Callable[[str], Awaitable[Transport]] = open_transport,
) -> str | None:
    """The IMEI the modem on `url` gives for AT+CGSN, or None (no modem, no answer, busy)."""
    try:
        port = await transport(url)
    except AtError:
        return None
    channel = AtChannel(port, hang_after=2, name=url)
    try:
        await channel.write_raw(b"\x1b\r")  # leave a PDU prompt left open
        for line in await channel.command("AT+CGSN", timeout=timeout):
            m = _IMEI.search(line)
            if m:
                return m.group(1)
        return None
    except AtError:
        return None
    finally:
        with contextlib.suppress(Exception):
            await channel.close()


async def find_by_imei(
    imei: str,
    candidates: Iterable[str],
    *,
    timeout: float = 2.0,
    transport: Callable[[str], Awaitable[Transport]] = open_transport,
) -> str | None:
    """The first of `candidates` whose modem has `imei`, or None."""
    for url in candidates:
        found = await read_imei(url, timeout=timeout, transport=transport)
        log.debug("%s: IMEI %s", url, "found" if found == imei else "other or none")
        if found == imei:
            return url
    return None
