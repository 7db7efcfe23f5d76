"""Expose simulated modems on pseudo-terminals and TCP ports.

A pty looks to clients like a USB modem's tty (gammu, minicom, pyserial open its path);
a TCP port looks like a serial-over-IP server (`socket://host:port`). Each pty also gets a
stable symlink, `<dir>/<modem id>`, that survives a simulated USB drop-out the way
`/dev/serial/by-id` names do, while the pts number behind it changes.

`Simulator` runs inside an asyncio loop; `SimulatorThread` runs one in a background
thread for synchronous callers (tests, the CLI).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import errno
import os
import socket
import tempfile
import threading
import tty
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from drivers.simulator.modem import ModemProfile, SimulatedModem
from drivers.simulator.network import Network
from drivers.simulator.personalities import personality
from drivers.simulator.replay import Replay

__all__ = ["Simulator", "SimulatorThread", "Endpoint", "default_profile"]

T = TypeVar("T")


def default_profile(
    index: int,
    personality_name: str | None = None,
    noise_every: float | None = None,
    replay: Replay | None = None,
) -> ModemProfile:
    """Identity of the i-th simulated modem (1-based): own number, IMEI and IMSI, on the
    named personality (`personalities.py`) or the plain default profile; `noise_every`
    replaces the seconds between its periodic lines; `replay` answers like a recording."""
    body = f"35314204{index:06d}"
    profile = ModemProfile(
        imei=body + str(_luhn_digit(body)),
        imsi=f"20408{index:010d}",
        iccid=f"893108{index:013d}",
        number=f"+3161200{index:04d}",
        mr_start=0,
    )
    if personality_name:
        profile = personality(personality_name, profile)
    if replay is not None:
        profile = dataclasses.replace(
            profile,
            replay=replay,
            manufacturer=replay.first_line("AT+CGMI") or profile.manufacturer,
            model=replay.first_line("AT+CGMM") or profile.model,
            unsupported_final=replay.unsupported_final or profile.unsupported_final,
        )
    return profile if noise_every is None else dataclasses.replace(profile, noise_interval=noise_every)


def _luhn_digit(body: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


@dataclass
class Endpoint:
    """Where one modem can be reached."""

    modem_id: str
    number: str
    pty: str | None = None  # stable symlink to the current pts
    tcp: tuple[str, int] | None = None

    @property
    def tcp_url(self) -> str | None:
        return f"socket://{self.tcp[0]}:{self.tcp[1]}" if self.tcp else None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.modem_id, "number": self.number, "pty": self.pty, "tcp": self.tcp_url}


_PTY_BUFFER = 64 * 1024  # output kept while nobody reads the pty, like a UART buffer


class _PtyPort:
    """One modem on a pseudo-terminal; reopened with a new pts after a drop-out."""

    def __init__(self, modem: SimulatedModem, link: str, loop: asyncio.AbstractEventLoop) -> None:
        self.modem = modem
        self.link = link
        self.loop = loop
        self.master = -1
        self.slave = -1
        self._outbuf = bytearray()

    def open(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no CR/LF translation: a modem port is raw bytes
        os.set_blocking(self.master, False)
        tmp = self.link + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(self.slave), tmp)
        os.replace(tmp, self.link)
        self.loop.add_reader(self.master, self._readable)
        self.modem.attach(self._write)

    def close(self) -> None:
        self.modem.detach(self._write)
        if self.master >= 0:
            self.loop.remove_reader(self.master)
            self.loop.remove_writer(self.master)
            os.close(self.master)
            self.master = -1
        if self.slave >= 0:
            os.close(self.slave)
            self.slave = -1
        self._outbuf.clear()

    @property
    def device(self) -> str:
        return os.ttyname(self.slave) if self.slave >= 0 else ""

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EIO):
                return
            raise
        if data:
            self.modem.feed(data)

    def _write(self, data: bytes) -> None:
        if self.master < 0:
            return
        if self._outbuf:
            self._outbuf += data
            if len(self._outbuf) > _PTY_BUFFER:
                del self._outbuf[: len(self._outbuf) - _PTY_BUFFER]  # overrun: oldest bytes lost
            return
        try:
            n = os.write(self.master, data)
        except BlockingIOError:
            n = 0
        if n < len(data):
            self._outbuf += data[n:]
            self.loop.add_writer(self.master, self._drain)

    def _drain(self) -> None:
        try:
            n = os.write(self.master, self._outbuf)
        except BlockingIOError:
            return
        del self._outbuf[:n]
        if not self._outbuf:
            self.loop.remove_writer(self.master)


class _TcpPort:
    """One modem on a TCP port: a single client at a time, like a serial line."""

    def __init__(self, modem: SimulatedModem, host: str, port: int) -> None:
        self.modem = modem
        self.host = host
        self.port = port
        self.server: asyncio.base_events.Server | None = None
        self.writer: asyncio.StreamWriter | None = None
        self._sock: socket.socket | None = None
        self._starting: asyncio.Task[None] | None = None

    def listen(self) -> None:
        """Bind and listen now, so connections are accepted (queued) from this moment on,
        even before the loop gets round to serving them; the port is kept across reopens."""
        sock = socket.create_server((self.host, self.port))  # SO_REUSEADDR on POSIX
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._sock = sock
        self._starting = asyncio.get_running_loop().create_task(self._serve(sock))

    async def _serve(self, sock: socket.socket) -> None:
        self.server = await asyncio.start_server(self._client, sock=sock)

    async def open(self) -> None:
        self.listen()
        assert self._starting is not None
        await self._starting

    def close(self) -> None:
        if self.writer is not None:
            self.modem.detach(self.writer.write)
            self.writer.close()
            self.writer = None
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()  # closed again before the loop started serving it
        self._starting = None
        if self.server is not None:
            self.server.close()
            self.server = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.writer is not None:
            writer.close()  # the line is busy
            return
        self.writer = writer
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # The modem answers in several small writes (echo, info lines, OK): without
            # this the client's next command waits for Nagle's algorithm (~40 ms).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.modem.attach(writer.write)
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                self.modem.feed(data)
        except (ConnectionError, OSError):
            pass
        finally:
            self.modem.detach(writer.write)
            if self.writer is writer:
                self.writer = None
            writer.close()


class Simulator:
    """A network and its modems, reachable on ptys and/or TCP ports. Runs in one loop."""

    def __init__(
        self,
        modems: int = 2,
        *,
        journal: IO[str] | None = None,
        profiles: list[ModemProfile] | None = None,
        link_dir: str | None = None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.network = Network(self._call_later, journal=journal)
        self.modems: dict[str, SimulatedModem] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self._ptys: dict[str, _PtyPort] = {}
        self._tcps: dict[str, _TcpPort] = {}
        self._link_dir = link_dir or tempfile.mkdtemp(prefix="modemgate-sim-")
        for i in range(1, modems + 1):
            profile = profiles[i - 1] if profiles and i <= len(profiles) else default_profile(i)
            modem_id = f"sim{i}"
            modem = SimulatedModem(modem_id, self.network, profile=profile, call_later=self._call_later)
            modem.on_disconnect_change = self._disconnect_handler(modem_id)
            self.modems[modem_id] = modem
            self.endpoints[modem_id] = Endpoint(modem_id, profile.number)

    def _call_later(self, delay: float, fn: Callable[[], None]) -> object:
        return self.loop.call_later(max(delay, 0.0), fn)

    async def expose(self, *, pty: bool = False, tcp: tuple[str, int] | None = None) -> list[Endpoint]:
        """Open each modem on a pty and/or TCP (modem i on port+i-1; port 0 picks free ones)."""
        for i, (modem_id, modem) in enumerate(self.modems.items()):
            ep = self.endpoints[modem_id]
            if pty:
                port = _PtyPort(modem, os.path.join(self._link_dir, modem_id), self.loop)
                port.open()
                self._ptys[modem_id] = port
                ep.pty = port.link
            if tcp is not None:
                host, base = tcp
                tport = _TcpPort(modem, host, base + i if base else 0)
                await tport.open()
                self._tcps[modem_id] = tport
                ep.tcp = (host, tport.port)
        return list(self.endpoints.values())

    def pty_device(self, modem_id: str) -> str:
        """The current /dev/pts path behind a modem's stable link."""
        return self._ptys[modem_id].device

    def _disconnect_handler(self, modem_id: str) -> Callable[[bool], None]:
        def changed(down: bool) -> None:
            if modem_id in self._ptys:
                port = self._ptys[modem_id]
                port.close()
                if down:
                    # Gone from the bus: like a /dev/serial/by-id name, the link goes too.
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(port.link)
                else:
                    port.open()
            if modem_id in self._tcps:
                tport = self._tcps[modem_id]
                tport.close()
                if not down:
                    tport.listen()

        return changed

    def close(self) -> None:
        for modem in self.modems.values():
            modem.close()
        for port in self._ptys.values():
            port.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(port.link)
        for tport in self._tcps.values():
            tport.close()
        with contextlib.suppress(OSError):
            os.rmdir(self._link_dir)

    # --- control (also used by the HTTP control API) -------------------------------------

    def modem(self, modem_id: str) -> SimulatedModem:
        try:
            return self.modems[modem_id]
        except KeyError:
            raise KeyError(f"no simulated modem {modem_id!r}") from None

    def inbound(self, modem_id: str, sender: str, text: str, encoding: str = "auto") -> int:
        return self.network.inbound(modem_id, sender, text, encoding=encoding)

    def set_faults(self, modem_id: str, **values: Any) -> None:
        self.modem(modem_id).set_faults(values)

    def clear_faults(self, modem_id: str) -> None:
        self.modem(modem_id).clear_faults()

    def status(self) -> list[dict[str, Any]]:
        out = []
        for modem_id, modem in self.modems.items():
            entry = self.endpoints[modem_id].to_dict()
            entry["faults"] = modem.faults.as_dict()
            entry["storage"] = {name: st.used for name, st in modem.stores.items()}
            entry["maker"] = {"manufacturer": modem.profile.manufacturer, "model": modem.profile.model}
            entry["noise_sent"] = modem.noise_sent
            out.append(entry)
        return out


class SimulatorThread:
    """A Simulator on its own event loop in a daemon thread, for synchronous code.

    `call(fn, ...)` runs `fn` in the simulator's loop and returns its result.
    """

    def __init__(
        self,
        modems: int = 2,
        *,
        pty: bool = True,
        tcp: tuple[str, int] | None = None,
        journal: IO[str] | None = None,
        profiles: list[ModemProfile] | None = None,
    ) -> None:
        self._args = (modems, pty, tcp, journal, profiles)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="modem-simulator", daemon=True)
        self.sim: Simulator | None = None
        self.endpoints: dict[str, Endpoint] = {}

    def start(self) -> SimulatorThread:
        self._thread.start()
        modems, pty, tcp, journal, profiles = self._args

        async def boot() -> Simulator:
            sim = Simulator(modems, journal=journal, profiles=profiles)
            await sim.expose(pty=pty, tcp=tcp)
            return sim

        self.sim = asyncio.run_coroutine_threadsafe(boot(), self.loop).result(10)
        self.endpoints = dict(self.sim.endpoints)
        return self

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the caller's thread
                fut.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return fut.result(10)

    # Thread-safe shortcuts.
    def inbound(self, modem_id: str, sender: str, text: str, encoding: str = "auto") -> int:
        assert self.sim is not None
        return self.call(self.sim.inbound, modem_id, sender, text, encoding)

    def set_faults(self, modem_id: str, **values: Any) -> None:
        assert self.sim is not None
        self.call(self.sim.set_faults, modem_id, **values)

    def clear_faults(self, modem_id: str) -> None:
        assert self.sim is not None
        self.call(self.sim.clear_faults, modem_id)

    def received(self) -> list[dict[str, Any]]:
        assert self.sim is not None
        return self.call(lambda: [r.to_dict() for r in self.sim.network.received])  # type: ignore[union-attr]

    def messages(self) -> list[dict[str, Any]]:
        assert self.sim is not None
        return self.call(self.sim.network.messages)

    def stop(self) -> None:
        if self.sim is not None:
            self.call(self.sim.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
