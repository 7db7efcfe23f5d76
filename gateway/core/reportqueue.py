"""Group commit of status reports: reports that arrive while earlier ones are being written
are written together, in one transaction, as soon as that write is done.

A busy gateway receives a status report for nearly every part it sends, from every modem
at once; written one transaction each, their commits (an fsync each on SQLite) and turns
at the single writer cost more than the reports themselves. There is no timer: a report
that finds the queue idle is written at once, alone; only reports that come in while a
write is running wait, for that write alone, and then go in the next one (up to `cap`).

Each caller awaits the result of its own report. When a batch's write raises, nothing of
it was stored (one transaction), and every caller of that batch gets the exception, as it
would have alone: the dispatcher then leaves those reports in the modem, to be read again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["ReportQueue", "DEFAULT_CAP"]

Item = TypeVar("Item")
Result = TypeVar("Result")

DEFAULT_CAP = 200  # reports per transaction: keeps one write turn short


class ReportQueue(Generic[Item, Result]):
    """Hands reports to `write` in batches; `write(items)` stores them in one transaction
    and returns one result per item, in order."""

    def __init__(self, write: Callable[[list[Item]], Awaitable[Sequence[Result]]], *, cap: int = DEFAULT_CAP) -> None:
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self._write = write
        self._cap = cap
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, item: Item) -> Result:
        """Store `item` with whatever else is waiting; its result, or the batch's exception."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self._cap], self._waiting[self._cap :]
                try:
                    results = await self._write([item for item, _ in batch])
                    if len(results) != len(batch):
                        raise RuntimeError(f"{len(results)} results for {len(batch)} reports")
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        if not future.done():  # its caller may have given up waiting
                            future.set_result(result)
                batch = []
        finally:
            # Stopped (the gateway is closing): nobody is left waiting for an answer.
            for _, future in batch + self._waiting:
                future.cancel()
            self._waiting = []
            self._writer = None
