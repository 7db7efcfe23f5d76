"""Byte transports to a modem: anything pyserial's `serial_for_url` opens, and TCP.

`open_transport` picks one for a URL. A device path (`/dev/ttyUSB2`, `/dev/serial/by-id/…`)
and `rfc2217://host:port` go through pyserial, which is blocking: a reader thread feeds an
asyncio queue, and writes run in a worker thread with a write timeout so a wedged USB
device cannot block the event loop. A plain `socket://host:port` (a serial-over-TCP server
or the simulator) is an asyncio stream instead: pyserial's socket port reads one byte per
call (its `in_waiting` says only "something"), which cost a thread hop and a loop wake-up
per byte, and a reader thread per modem; a pool of 256 modems pays for neither this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any, Protocol
from urllib.parse import urlsplit

import serial

from drivers._exceptions import ModemGone, ModemTimeout

__all__ = ["Transport", "SerialTransport", "TcpTransport", "open_transport"]


class Transport(Protocol):
    """What the AT channel needs from a port."""

    async def read(self) -> bytes:
        """Bytes from the modem (at least one); raises ModemGone when the port is gone."""

    async def write(self, data: bytes) -> None:
        """Write all of `data`; raises ModemGone or ModemTimeout."""

    async def close(self) -> None: ...


_EOF = object()
_READ_TIMEOUT = 0.5  # seconds
_WRITE_TIMEOUT = 10.0  # seconds, as pyserial's write_timeout


class SerialTransport:
    """A pyserial port driven from asyncio."""

    def __init__(self, port: serial.SerialBase, url: str) -> None:
        self.url = url
        self._port = port
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[bytes | BaseException] = asyncio.Queue()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._read_loop, name=f"serial-reader {url}", daemon=True)
        self._thread.start()

    @classmethod
    async def open(cls, url: str, *, baudrate: int = 115200) -> SerialTransport:
        """Open `url`; a port that cannot be opened raises ModemGone with the OS reason."""
        # The reader thread's read returns as soon as a byte arrives; the timeout only says
        # how often an idle reader looks whether it is being closed (many modems: rarely).
        kwargs: dict[str, Any] = {"baudrate": baudrate, "timeout": _READ_TIMEOUT, "write_timeout": 10}
        if "://" not in url:
            kwargs["exclusive"] = True  # a second program on the port garbles both
        try:
            port = await asyncio.to_thread(serial.serial_for_url, url, **kwargs)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ModemGone(f"cannot open {url}: {_reason(exc)}") from exc
        _no_delay(port)
        return cls(port, url)

    def _read_loop(self) -> None:
        port = self._port
        while not self._closing.is_set():
            try:
                data = port.read(max(1, port.in_waiting))  # type: ignore[attr-defined]  # every concrete port has it; SerialBase does not declare it
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                if not self._closing.is_set():
                    self._put(ModemGone(f"{self.url}: {exc}"))
                return
            if data:
                self._put(bytes(data))

    def _put(self, item: bytes | BaseException) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:
            pass  # loop closed: nobody is listening any more

    async def read(self) -> bytes:
        item = await self._queue.get()
        if isinstance(item, BaseException):
            self._queue.put_nowait(item)  # keep reporting it to later readers
            raise item
        return item

    async def write(self, data: bytes) -> None:
        try:
            await asyncio.to_thread(self._write_all, data)
        except serial.SerialTimeoutException as exc:
            raise ModemTimeout(f"{self.url}: write timed out") from exc
        except (serial.SerialException, OSError) as exc:
            raise ModemGone(f"{self.url}: {exc}") from exc

    def _write_all(self, data: bytes) -> None:
        self._port.write(data)
        self._port.flush()

    async def close(self) -> None:
        self._closing.set()
        try:
            await asyncio.to_thread(self._port.close)
        except (serial.SerialException, OSError):
            pass
        await asyncio.to_thread(self._thread.join, 1.0)


async def open_transport(url: str) -> Transport:
    """The transport for `url`: TCP for a plain `socket://host:port`, pyserial otherwise."""
    address = _tcp_address(url)
    if address is not None:
        return await TcpTransport.open(url, *address)
    return await SerialTransport.open(url)


class TcpTransport:
    """A `socket://host:port` modem on an asyncio stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, url: str) -> None:
        self.url = url
        self._reader = reader
        self._writer = writer
        self._gone: ModemGone | None = None

    @classmethod
    async def open(cls, url: str, host: str, port: int, *, timeout: float = 10.0) -> TcpTransport:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            raise ModemGone(f"cannot open {url}: {getattr(exc, 'strerror', None) or exc or 'timed out'}") from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # A command and its PDU go out in small writes: not held back by Nagle's algorithm.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer, url)

    async def read(self) -> bytes:
        if self._gone is not None:
            raise self._gone
        try:
            data = await self._reader.read(4096)
        except OSError as exc:
            data = b""
            reason = str(exc)
        else:
            reason = "connection closed"
        if not data:
            self._gone = ModemGone(f"{self.url}: {reason}")
            raise self._gone
        return data

    async def write(self, data: bytes) -> None:
        try:
            self._writer.write(data)
            await asyncio.wait_for(self._writer.drain(), _WRITE_TIMEOUT)
        except TimeoutError as exc:
            raise ModemTimeout(f"{self.url}: write timed out") from exc
        except OSError as exc:
            raise ModemGone(f"{self.url}: {exc}") from exc

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


def _tcp_address(url: str) -> tuple[str, int] | None:
    """(host, port) of a `socket://host:port` without options; None for anything else."""
    if not url.startswith("socket://"):
        return None
    parts = urlsplit(url)
    if parts.query or parts.path not in ("", "/") or parts.hostname is None:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return None if port is None else (parts.hostname, port)


def _no_delay(port: serial.SerialBase) -> None:
    """A command and its PDU go out in small writes: over TCP (`socket://`) they must not
    wait for Nagle's algorithm to hear back about the previous one (~40 ms each)."""
    sock = getattr(port, "_socket", None)  # pyserial's socket:// and rfc2217:// ports
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _reason(exc: BaseException) -> str:
    """Why a port would not open, in the OS's words ("Connection refused"), without
    pyserial's restatement of the port name around them."""
    for cause in (exc.__cause__, exc.__context__):
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
    return str(exc)
