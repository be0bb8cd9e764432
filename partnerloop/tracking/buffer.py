"""The click buffer: the redirect appends a click (no I/O); one flusher task writes batches.

A batch is written every `click_flush_interval_ms` (sooner when `click_batch_size` clicks wait), in one
transaction: the clicks and their daily rollups. A failed write keeps the batch and retries with backoff;
`stop()` drains everything. Accepted clicks are never dropped.

Deciding and writing a batch is `batch.py`'s BatchWriter. Who runs it (`click_writer`):
- "process" (what `serve` runs): a writer process of its own (click_writer.py) decides and writes each
  batch with BatchWriter; the event loop only pickles the batch (~0.1 µs a click) and waits for the answer.
  Deciding and inserting cost ~12 µs a click in Python and SQLite: in the server's process they took the
  event loop's time or its GIL, and the redirect answered ~57% of what raw ASGI does; in a process of its
  own, on the other core, they take neither.
- "inline" (tests, an in-memory SQLite database, or a host that must not start another process): a worker
  thread of this process runs the same BatchWriter.write. Its Python holds the GIL the event loop needs,
  so the redirect is slower this way (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import Engine

from partnerloop.config import Settings
from partnerloop.tracking.batch import WARM_UP_AGENT, BatchWriter, PendingClick, is_row_error
from partnerloop.tracking.useragent import agent_facts

if TYPE_CHECKING:
    from partnerloop.tracking.click_writer import ClickWriterProcess


log = logging.getLogger("partnerloop.tracking")

MAX_BACKOFF_S = 5.0


class ClickCounts(NamedTuple):
    """The buffer's totals since the process started (pending = accepted - written - unwritable)."""

    accepted: int
    written: int
    unwritable: int  # set aside: a row the database refuses (logged), never retried
    pending: int
    waits_for_room: int
    failing_since: float | None  # epoch seconds of the first of the current failed writes


class ClickBuffer:
    """Clicks accepted by the redirect, waiting to be written; bounded (callers wait for room when full)."""

    def __init__(self, engine: Engine, settings: Settings, process: ClickWriterProcess | None = None) -> None:
        """`process`: the writer process that writes the batches (click_writer="process"); None: this one."""
        self.engine = engine
        self.process = process
        self.flush_interval_s = settings.click_flush_interval_ms / 1000
        self.batch_size = max(1, settings.click_batch_size)
        self.max_pending = max(self.batch_size, settings.click_buffer_max)
        self.full = False  # read by the redirect on every request: an attribute, not a call
        self._pending: list[PendingClick] = []  # oldest first; a batch leaves only once written
        self._accepted = 0
        self._done = 0  # written, or set aside as unwritable: always _accepted - len(_pending)
        self.unwritable: list[PendingClick] = []
        self.waits_for_room = 0  # requests that found the buffer full and waited (back-pressure, never a drop)
        self.failing_since: float | None = None  # epoch seconds of the first of the current failed writes
        self.last_error: str | None = None  # the latest failed write's error, until a write succeeds
        self.writer = BatchWriter(engine)  # inline writing only; the writer process has its own
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._flush_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Clicks accepted and not yet written."""
        return len(self._pending)

    def status(self) -> dict[str, object]:
        """What /healthz reports: who writes, how many clicks wait, and whether writing currently fails."""
        return {
            "writer": "process" if self.process is not None else "inline",
            "pending": len(self._pending),
            "unwritable": len(self.unwritable),
            "failing_since": None if self.failing_since is None else datetime.fromtimestamp(self.failing_since, UTC),
            "last_error": self.last_error,
        }

    def counts(self) -> ClickCounts:
        """What /metrics reports, read without I/O: totals since this process started."""
        unwritable = len(self.unwritable)
        return ClickCounts(
            accepted=self._accepted,
            written=self._done - unwritable,
            unwritable=unwritable,
            pending=len(self._pending),
            waits_for_room=self.waits_for_room,
            failing_since=self.failing_since,
        )

    async def start(self) -> None:
        if self.process is not None:
            await self.process.start()
        else:
            agent_facts(WARM_UP_AGENT)  # ua-parser builds its matcher on first use (~140 ms): not on a click
        self._loop = asyncio.get_running_loop()
        self._wake, self._room = asyncio.Event(), asyncio.Event()  # bound to this loop
        self._stopping = False
        self._task = asyncio.create_task(self._flush_forever(), name="click-buffer-flusher")

    def add(self, click: PendingClick) -> None:
        """Accept a click (no I/O). When `full` is true, await `wait_for_room()` first."""
        pending = self._pending
        pending.append(click)
        self._accepted += 1
        size = len(pending)
        if size >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        if size >= self.max_pending:
            self.full = True

    async def wait_for_room(self) -> None:
        """Back-pressure: return once the buffer is below `click_buffer_max`."""
        self.waits_for_room += 1
        while self.full:
            self._room.clear()
            await self._room.wait()

    async def flush(self) -> None:
        """Write every click accepted so far; return once they are committed."""
        if not self._pending:
            return
        if self._task is None or self._task.done():
            raise RuntimeError("The click buffer is not running: start() it first.")
        waiter = asyncio.get_running_loop().create_future()
        self._flush_waiters.append((self._accepted, waiter))
        self._wake.set()
        await waiter

    def flush_blocking(self, timeout_s: float = 5.0) -> bool:
        """flush() from a worker thread (e.g. a conversion naming a click id not in the database yet).

        Returns True when every click accepted before the call is written, False on timeout.
        """
        if not self._pending:
            return True
        loop = self._loop
        if loop is None or loop.is_closed():
            return False
        with contextlib.suppress(RuntimeError):
            if asyncio.get_running_loop() is loop:
                raise RuntimeError("flush_blocking() on the buffer's own event loop would deadlock: await flush().")
        future = asyncio.run_coroutine_threadsafe(self.flush(), loop)
        try:
            future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            return False
        return True

    async def stop(self, timeout_s: float = 60.0) -> None:
        """Drain: write every pending click, retrying failures for up to `timeout_s`."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            log.error("click buffer: stopped with %d clicks unwritten after %.0f s of retries: %s",
                      len(self._pending), timeout_s, [click[0].decode() for click in self._pending])  # fmt: skip
        finally:
            if self.process is not None:
                await self.process.stop()

    async def _flush_forever(self) -> None:
        failures = 0
        limit = self.batch_size
        while True:
            if not self._pending and self._stopping:
                return
            if len(self._pending) < self.batch_size and not self._flush_waiters and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.flush_interval_s)
                self._wake.clear()
            if not self._pending:
                continue
            batch = self._pending[:limit]
            try:
                # After a failure the commit may have happened anyway: the retry skips stored ids.
                if self.process is not None:
                    await self.process.write(batch, failures > 0)
                else:
                    await asyncio.to_thread(self.writer.write, batch, failures > 0)
            except Exception as error:
                failures += 1
                if is_row_error(error):
                    if len(batch) > 1:
                        limit = max(1, len(batch) // 2)  # bisect towards the row that cannot be written
                        continue
                    log.error("click buffer: click %r cannot be written, set aside: %s (%s)", batch[0], error,
                              type(error).__name__)  # fmt: skip
                    self.unwritable.append(batch[0])
                    self._written(1)
                    continue
                delay = min(MAX_BACKOFF_S, 0.05 * 2 ** min(failures, 10))
                self.failing_since = self.failing_since or time.time()
                self.last_error = f"{type(error).__name__}: {error}"[:500]
                log.warning("click buffer: writing %d clicks failed (attempt %d), retrying in %.2f s: %s",
                            len(batch), failures, delay, error)  # fmt: skip
                await asyncio.sleep(delay)
                continue
            failures = 0
            limit = self.batch_size
            self.failing_since = self.last_error = None
            self._written(len(batch))

    def _written(self, count: int) -> None:
        del self._pending[:count]
        self._done += count
        self.full = len(self._pending) >= self.max_pending
        if not self.full:
            self._room.set()
        if self._flush_waiters:
            waiting = []
            for target, waiter in self._flush_waiters:
                if self._done >= target:
                    if not waiter.done():
                        waiter.set_result(None)
                else:
                    waiting.append((target, waiter))
            self._flush_waiters = waiting
