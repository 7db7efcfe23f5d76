"""One AT conversation over a transport: commands one at a time, each with a time limit.

A reader task feeds every byte into the sans-IO `AtProtocol` and routes its events:
information lines and the final result to the waiting command, the `> ` prompt to the
PDU sender, unsolicited result codes to a callback. Commands are serialised by a lock,
so URC handlers and health polls can issue commands without interleaving.

Hang detection: a command that gets no final result in time raises ModemTimeout; after
`hang_after` of those in a row the channel declares the modem gone (ModemGone), which
tells its owner to close and reopen the port.

Cancellation: a caller may give up on a command (a task cancelled, `asyncio.wait_for`),
but the modem still works on it. The channel sees such a command through in the
background, holding the lock: it leaves an open PDU prompt with ESC and waits for the
final result (counted as a timeout if none comes), so the next command gets its own
answer and not the late one of the command given up on.

Quiet time: some firmware ends a read command's answer without a final result (Wavecom
answers ``AT+CPIN?`` with ``+CPIN: READY`` and no ``OK``; gammu marks such models
F_CPIN_NO_OK). A read command whose information line came, followed by `quiet` seconds
with no byte from the modem, is taken as answered. An ``OK`` that comes later after all
is passed over by the resync below, so it cannot end the next command.

Resync: when a command (or one seen through in the background) got no answer in time,
its answer may still come, and would be taken for the next command's. Before that next
command the channel asks `AT+CMEE?`, whose answer holds a line (`+CMEE: <n>`) no other
command's does, and passes over final results until the one that comes with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal

from drivers._exceptions import AtError, ModemGone, ModemTimeout
from drivers.at.events import Echo, Final, Garbage, Info, Prompt, Urc
from drivers.at.protocol import AtProtocol
from drivers.at.transport import Transport

__all__ = ["AtChannel"]

log = logging.getLogger("modemgate.at")

# After ESC has cancelled a PDU prompt, most modems answer at once (OK or an error).
_ABORT_WAIT = 2.0

_Stage = Literal["command", "awaiting_prompt", "aborted", "pdu_sent"]
# Every 27.007 modem answers it, and `+CMEE:` is in no other command's answer.
_SYNC_COMMAND = "AT+CMEE?"
_SYNC_MARK = "+CMEE:"
_SYNC_WAIT = 5.0
# Seconds of silence after a read command's information line that stand for its OK.
DEFAULT_QUIET = 1.0


class AtChannel:
    def __init__(
        self,
        transport: Transport,
        *,
        on_urc: Callable[[Urc], None] | None = None,
        hang_after: int = 3,
        name: str = "modem",
        quiet: float = DEFAULT_QUIET,
    ) -> None:
        self.name = name
        self._transport = transport
        self._proto = AtProtocol()
        self._on_urc = on_urc
        self._lock = asyncio.Lock()
        self._info: list[str] = []
        self._final: asyncio.Future[Final] | None = None
        self._prompt: asyncio.Future[None] | None = None
        self._gone: ModemGone | None = None
        self._closed = False
        self._stage: _Stage = "command"
        self._settling: set[asyncio.Task[None]] = set()
        self._hang_after = hang_after
        self.consecutive_timeouts = 0
        self.garbage_bytes = 0
        self._unsure = False  # a command went unanswered: its answer may still come
        self._sync: asyncio.Future[None] | None = None  # set while resyncing
        self._sync_seen = False
        self._quiet = quiet
        self._quiet_timer: asyncio.TimerHandle | None = None
        self.quiet_endings = 0  # read commands taken as answered without a final result
        self._reader = asyncio.get_running_loop().create_task(self._read_loop(), name=f"at-reader {name}")

    @property
    def gone(self) -> bool:
        return self._gone is not None

    def set_urc_handler(self, handler: Callable[[Urc], None]) -> None:
        self._on_urc = handler

    async def command(self, command: str, *, timeout: float = 10.0) -> list[str]:
        """Run `command`; return its information lines or raise its error (which names it)."""
        with _naming(command):
            async with self._exchange(command, timeout, prompt=False):
                await self._transport.write(self._proto.send(command, prompt=False))
                final = await self._wait(self._final, command, timeout)
                return self._result(final)

    async def command_with_pdu(
        self, command: str, pdu: str, *, timeout: float = 60.0, prompt_timeout: float = 10.0
    ) -> list[str]:
        """Run a prompting command (AT+CMGS=<n>): wait for `> `, send `pdu` + Ctrl-Z."""
        with _naming(command):
            return await self._prompted(command, pdu, timeout, prompt_timeout)

    async def _prompted(self, command: str, pdu: str, timeout: float, prompt_timeout: float) -> list[str]:
        async with self._exchange(command, timeout, prompt=True):
            assert self._final is not None and self._prompt is not None
            await self._transport.write(self._proto.send(command, prompt=True))
            waiters: set[asyncio.Future[Any]] = {self._final, self._prompt}
            done, _ = await asyncio.wait(waiters, timeout=prompt_timeout, return_when=asyncio.FIRST_COMPLETED)
            if self._final in done:  # refused before the prompt (e.g. +CMS ERROR: 304)
                return self._result(self._final.result())
            if not done:
                # No prompt: cancel the input the modem may be waiting for, then give up.
                self._stage = "aborted"
                await self._transport.write(self._proto.abort_prompt())
                try:
                    await asyncio.wait_for(asyncio.shield(self._final), min(_ABORT_WAIT, prompt_timeout))
                except TimeoutError:
                    pass
                raise self._timed_out(command, prompt_timeout)
            self._stage = "pdu_sent"
            await self._transport.write(self._proto.send_pdu(pdu))
            final = await self._wait(self._final, command, timeout)
            return self._result(final)

    async def close(self) -> None:
        self._closed = True
        if self._quiet_timer is not None:
            self._quiet_timer.cancel()
        self._reader.cancel()
        try:
            await self._reader
        except (asyncio.CancelledError, Exception):
            pass
        # With the reader stopped, a command still being seen through ends at once.
        await asyncio.gather(*self._settling, return_exceptions=True)
        await self._transport.close()

    async def write_raw(self, data: bytes) -> None:
        """Bytes outside any command (ESC to leave a stale prompt at start-up)."""
        self._check_alive()
        await self._transport.write(data)

    # --- internals ----------------------------------------------------------------------

    def _check_alive(self) -> None:
        if self._gone is not None:
            raise self._gone
        if self._closed:
            raise ModemGone(f"{self.name}: closed")

    @contextlib.asynccontextmanager
    async def _exchange(self, command: str, timeout: float, *, prompt: bool) -> AsyncIterator[None]:
        """One command's turn on the line: the lock, fresh futures, and clean-up however
        it ends. A command given up on while the modem works on it is seen through in
        the background, which keeps the lock until then."""
        await self._lock.acquire()
        if self._unsure and self._gone is None and not self._closed:
            # Its own task, so that a caller giving up does not cut it short: it then
            # finishes in the background and releases the lock itself.
            sync = asyncio.ensure_future(self._resync(min(timeout, _SYNC_WAIT)))
            try:
                await asyncio.shield(sync)
            except asyncio.CancelledError:
                sync.add_done_callback(self._release_after)
                raise
            except BaseException:
                self._lock.release()
                raise
        release = True
        try:
            self._check_alive()
            loop = asyncio.get_running_loop()
            self._info = []
            self._final = loop.create_future()
            self._prompt = loop.create_future() if prompt else None
            self._stage = "awaiting_prompt" if prompt else "command"
            yield
        except asyncio.CancelledError:
            if self._proto.pending is not None and self._gone is None:
                task = asyncio.ensure_future(self._settle(command, timeout))
                self._settling.add(task)
                task.add_done_callback(self._settling.discard)
                release = False  # the settling task releases it
            else:
                self._forget()
            raise
        except ModemGone as exc:
            if self._gone is None:
                self._gone = exc  # a write failed: the port is gone for every later command
            self._forget()
            raise
        except BaseException:
            self._forget()
            raise
        finally:
            if release:
                self._lock.release()

    async def _settle(self, command: str, timeout: float) -> None:
        """Wait out a command its caller gave up on, so its answer cannot be taken for the
        next command's; leave a PDU prompt that is open or about to open."""
        final = self._final
        try:
            assert final is not None
            if self._stage == "awaiting_prompt" and self._prompt is not None:
                waiters: set[asyncio.Future[Any]] = {final, self._prompt}
                await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if not final.done():
                    self._stage = "aborted"
                    await self._transport.write(self._proto.abort_prompt())
                    timeout = min(_ABORT_WAIT, timeout)
            elif self._stage == "aborted":
                timeout = min(_ABORT_WAIT, timeout)
            try:
                await asyncio.wait_for(asyncio.shield(final), timeout)
                self.consecutive_timeouts = 0
            except TimeoutError:
                log.warning("%s: %s", self.name, self._timed_out(command, timeout))
        except AtError as exc:  # the port went away meanwhile
            log.debug("%s: while finishing %r: %s", self.name, command, exc)
        finally:
            self._forget()
            self._lock.release()

    async def _resync(self, timeout: float) -> None:
        """Ask `AT+CMEE?` and wait for its own answer, passing over late ones (see the
        module docstring). Counts as an unanswered command when none comes in time."""
        loop = asyncio.get_running_loop()
        self._stage = "command"
        self._prompt = None
        self._info = []
        self._final = None  # the reader routes this exchange's events to `_sync` instead
        self._sync = loop.create_future()
        self._sync_seen = False
        try:
            await self._transport.write(self._proto.send(_SYNC_COMMAND, prompt=False))
            try:
                await asyncio.wait_for(asyncio.shield(self._sync), timeout)
            except TimeoutError:
                raise self._timed_out(_SYNC_COMMAND, timeout) from None
        finally:
            self._sync = None
            if self._proto.pending is not None:
                self._proto.abandon()
        self.consecutive_timeouts = 0
        self._unsure = False

    def _release_after(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled():
            task.exception()  # seen: counted already (a timeout), not reported as never retrieved
        self._lock.release()

    def _sync_event(self, event: object) -> None:
        """An event while resyncing: the final result after a `+CMEE:` line is ours;
        one before it is the late answer of a command given up on."""
        assert self._sync is not None
        line = getattr(event, "line", "")
        if isinstance(event, (Info, Urc)) and line.startswith(_SYNC_MARK):
            self._sync_seen = True
        elif isinstance(event, Final):
            # A modem without AT+CMEE? answers plain ERROR (or its own wording) instead.
            if self._sync_seen or event.kind not in ("OK", "CMS", "CME"):
                self._sync.set_result(None)
            else:
                log.info("%s: passed over a late answer (%s)", self.name, event.kind)
        elif isinstance(event, Urc) and self._sync_seen and line in ("OK", "ERROR"):
            self._sync.set_result(None)  # ours, after the late final ended the pending command

    def _forget(self) -> None:
        """Drop what is left of the current command; its late lines come out as URCs."""
        if self._proto.pending is not None:
            self._proto.abandon()
        for fut in (self._final, self._prompt):
            if fut is not None and fut.done() and not fut.cancelled():
                fut.exception()  # seen: not reported as never retrieved
        self._final = self._prompt = None

    async def _wait(self, fut: asyncio.Future[Final] | None, command: str, timeout: float) -> Final:
        assert fut is not None
        try:
            final = await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            raise self._timed_out(command, timeout) from None
        self.consecutive_timeouts = 0
        return final

    def _timed_out(self, command: str, timeout: float) -> AtError:
        """Count a command that got no answer; return ModemTimeout, or ModemGone once
        `hang_after` commands in a row went unanswered."""
        self._proto.abandon()
        self._final = self._prompt = None
        self._unsure = True
        self.consecutive_timeouts += 1
        if self.consecutive_timeouts >= self._hang_after:
            self._gone = ModemGone(
                f"{self.name}: no answer to {self.consecutive_timeouts} commands in a row; modem hung"
            )
            return self._gone
        return ModemTimeout(f"{self.name}: no answer to {command!r} within {timeout:g} s")

    def _result(self, final: Final) -> list[str]:
        self._final = self._prompt = None
        error = final.as_error()
        if error is not None:
            raise error
        return self._info

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self._transport.read()
                for event in self._proto.feed(data):
                    self._dispatch(event)
                self._arm_quiet()
        except ModemGone as exc:
            self._gone = exc
        except AtError as exc:
            self._gone = ModemGone(f"{self.name}: {exc}")
        finally:
            gone = self._gone or ModemGone(f"{self.name}: reader stopped")
            for fut in (self._final, self._prompt, self._sync):
                if fut is not None and not fut.done():
                    fut.set_exception(gone)

    def _arm_quiet(self) -> None:
        """(Re)start the quiet timer while a read command has its information but no final."""
        if self._quiet_timer is not None:
            self._quiet_timer.cancel()
            self._quiet_timer = None
        final = self._final
        if final is None or final.done() or not self._info or not self._proto.reading or self._sync is not None:
            return
        self._quiet_timer = asyncio.get_running_loop().call_later(self._quiet, self._quiet_elapsed, final)

    def _quiet_elapsed(self, final: asyncio.Future[Final]) -> None:
        self._quiet_timer = None
        if final is not self._final or final.done() or self._proto.pending is None:
            return
        log.info("%s: %r answered without a final result; taken as OK", self.name, self._proto.pending)
        self._proto.abandon()
        self._unsure = True  # a late OK is passed over before the next command
        self.quiet_endings += 1
        final.set_result(Final("OK", None, ""))

    def _dispatch(self, event: object) -> None:
        if self._sync is not None and not self._sync.done() and not isinstance(event, (Garbage, Echo)):
            self._sync_event(event)
            if not isinstance(event, Urc) or event.line.startswith(_SYNC_MARK) or event.line in ("OK", "ERROR"):
                return
        if isinstance(event, Info):
            self._info.append(event.line)
        elif isinstance(event, Final):
            if self._final is not None and not self._final.done():
                self._final.set_result(event)
        elif isinstance(event, Prompt):
            if self._prompt is not None and not self._prompt.done():
                self._prompt.set_result(None)
        elif isinstance(event, Urc):
            if self._on_urc is not None:
                try:
                    self._on_urc(event)
                except Exception:  # a handler bug must not kill the reader
                    log.exception("%s: URC handler failed on %r", self.name, event.line)
        elif isinstance(event, Garbage):
            self.garbage_bytes += len(event.data)
        elif isinstance(event, Echo):
            pass


@contextlib.contextmanager
def _naming(command: str) -> Iterator[None]:
    """An error out of `command` says which command it answered (for the operator's list
    of a modem's recent errors); one already named keeps its name."""
    try:
        yield
    except AtError as exc:
        if exc.command is None:
            exc.command = command
        raise
