"""The click buffer: the redirect appends a click (no I/O); one flusher task writes batches.

A batch is written every `click_flush_interval_ms` (sooner when `click_batch_size` clicks wait), in one
transaction: the clicks and their daily rollups. A failed write keeps the batch and retries with backoff;
`stop()` drains for a bounded time (STOP_TIMEOUT_S) and spills what it could not write.

The buffer holds at most `click_buffer_max` clicks: the redirect never waits for the database. A click beyond
that is shed: counted, and appended to the spill file (spill.py) when one can be written, from where it is
replayed into the database once writes succeed (ids already stored are skipped). Only a shed click that
cannot be spilled either (the spill queue full too, or its file unwritable) is lost, and counted as lost.

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
from partnerloop.tracking.batch import WARM_UP_AGENT, BatchWriter, PendingClick, WritableClick, is_row_error
from partnerloop.tracking.spill import ClickSpill, SpillFile, spill_directory
from partnerloop.tracking.useragent import agent_facts

if TYPE_CHECKING:
    from partnerloop.tracking.click_writer import ClickWriterProcess


log = logging.getLogger("partnerloop.tracking")

MAX_BACKOFF_S = 5.0
STOP_TIMEOUT_S = 10.0  # at shutdown, the clicks not written by then are spilled (SIGKILL usually follows at 30 s)
SPILL_INTERVAL_S = 0.1  # shed clicks are appended and fsync'd this often: what a SIGKILL can lose of them
SPILL_QUEUE_MIN = 10_000  # shed clicks waiting to be spilled: at least this many, else CLICK_BUFFER_MAX
REPLAY_CHECK_S = 60.0  # how often the directory is looked at for spill files of processes that died


class ClickCounts(NamedTuple):
    """The buffer's totals since the process started."""

    accepted: int  # every click handed to the buffer, shed ones included
    written: int  # committed from the buffer
    unwritable: int  # set aside: a row the database refuses (logged), never retried
    pending: int
    shed: int  # beyond the full buffer: sent to the spill file instead
    spilled: int  # stored in the spill file: shed ones, and at shutdown those that could not be written
    lost: int  # shed and not stored anywhere (spill queue full, or the spill file could not be written)
    replayed: int  # committed from spill files (of this process or of earlier ones)
    failing_since: float | None  # epoch seconds of the first of the current failed writes


class ClickBuffer:
    """Clicks accepted by the redirect, waiting to be written; bounded (beyond it, clicks are spilled)."""

    def __init__(self, engine: Engine, settings: Settings, process: ClickWriterProcess | None = None) -> None:
        """`process`: the writer process that writes the batches (click_writer="process"); None: this one."""
        self.engine = engine
        self.process = process
        self.flush_interval_s = settings.click_flush_interval_ms / 1000
        self.batch_size = max(1, settings.click_batch_size)
        self.max_pending = max(self.batch_size, settings.click_buffer_max)
        self.max_spill_queue = max(SPILL_QUEUE_MIN, self.max_pending)
        self.full = False  # read by the redirect on every request: an attribute, not a call
        self._pending: list[PendingClick] = []  # oldest first; a batch leaves only once written
        self._accepted = 0
        self._done = 0  # written, or set aside as unwritable: always _accepted - len(_pending)
        self.unwritable: list[PendingClick] = []
        self.spill = ClickSpill(spill_directory(settings))
        self._spill_queue: list[PendingClick] = []  # shed clicks not yet in the spill file (bounded too)
        self._shed = self._spilled = self._lost = self._replayed = self._unwritable_replayed = 0
        self._replaying: SpillFile | None = None
        self._replay_due = False  # spill files may be waiting: replayed while nothing else waits
        self._replay_checked = 0.0  # monotonic time of the last look for other processes' files
        self._spill_failing = False
        self._spiller: asyncio.Task[None] | None = None
        self.failing_since: float | None = None  # epoch seconds of the first of the current failed writes
        self.last_error: str | None = None  # the latest failed write's error, until a write succeeds
        self.writer = BatchWriter(engine)  # inline writing only; the writer process has its own
        self._wake = asyncio.Event()
        self._spill_wake = asyncio.Event()  # a batch of shed clicks waits, or stop(): the spiller runs now
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
            "unwritable": len(self.unwritable) + self._unwritable_replayed,
            "shed": self._shed,
            "lost": self._lost,
            "failing_since": None if self.failing_since is None else datetime.fromtimestamp(self.failing_since, UTC),
            "last_error": self.last_error,
        }

    def counts(self) -> ClickCounts:
        """What /metrics reports, read without I/O: totals since this process started."""
        unwritable = len(self.unwritable)
        return ClickCounts(
            accepted=self._accepted + self._shed,
            written=self._done - unwritable,
            unwritable=unwritable + self._unwritable_replayed,
            pending=len(self._pending),
            shed=self._shed,
            spilled=self._spilled,
            lost=self._lost,
            replayed=self._replayed,
            failing_since=self.failing_since,
        )

    async def start(self) -> None:
        if self.process is not None:
            await self.process.start()
        else:
            agent_facts(WARM_UP_AGENT)  # ua-parser builds its matcher on first use (~140 ms): not on a click
        self._loop = asyncio.get_running_loop()
        self._wake, self._spill_wake = asyncio.Event(), asyncio.Event()  # bound to this loop
        self._stopping = False
        self._replay_due = await asyncio.to_thread(self.spill.has_files)
        self._replay_checked = time.monotonic()
        self._task = asyncio.create_task(self._flush_forever(), name="click-buffer-flusher")
        self._spiller = asyncio.create_task(self._spill_forever(), name="click-buffer-spiller")

    def add(self, click: PendingClick) -> None:
        """Accept a click (no I/O, never waits): buffered, or, beyond `click_buffer_max`, shed to the spill."""
        pending = self._pending
        if self.full:
            self._shed += 1
            queue = self._spill_queue
            if len(queue) < self.max_spill_queue:
                queue.append(click)
                if len(queue) == self.batch_size:
                    self._spill_wake.set()
            else:  # the spill file does not keep up either (or cannot be written): counted, and logged in bulk
                self._lost += 1
            return
        pending.append(click)
        self._accepted += 1
        size = len(pending)
        if size >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        if size >= self.max_pending:
            self.full = True

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

    async def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Drain: write the pending clicks, retrying failures for up to `timeout_s`; then spill the clicks not
        written (and the shed ones not spilled yet) to the spill file, for the next start to replay."""
        self._stopping = True
        self._wake.set()
        self._spill_wake.set()
        task, self._task = self._task, None
        spiller, self._spiller = self._spiller, None
        if task is None:
            return
        drained = True
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except TimeoutError:
            drained = False
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if spiller is not None:
            try:
                await spiller  # it returns once _stopping is set and its current append is done
            except Exception:  # the clicks it held are still in the queue: spilled below
                log.exception("click buffer: the spiller failed")
        left = self._pending + self._spill_queue
        if left:
            try:
                await asyncio.to_thread(self.spill.append, left)
            except OSError as error:
                self._lost += len(left)
                log.error("click buffer: stopped with %d clicks neither written nor spilled (%s): %s",
                          len(left), error, [click[0].decode() for click in left])  # fmt: skip
            else:
                self._spilled += len(left)
                log.warning("click buffer: %d clicks not written in %.0f s were spilled to %s for the next start",
                            len(left), timeout_s, self.spill.directory)  # fmt: skip
            del self._pending[:], self._spill_queue[:]
        self.spill.close()
        if self._replaying is not None:
            ClickSpill.release(self._replaying)  # the rest is replayed by the next start (stored ids skipped)
            self._replaying = None
        if self.process is not None:
            if drained:
                await self.process.stop()
            else:  # it may be inside a write that does not return: its batch was spilled, replay skips it if stored
                await self.process.kill()

    async def _write(self, batch: list[PendingClick] | list[WritableClick], skip_stored: bool) -> int:
        if self.process is not None:
            return await self.process.write(batch, skip_stored)
        return await asyncio.to_thread(self.writer.write, batch, skip_stored)

    async def _spill_forever(self) -> None:
        """Append the shed clicks to the spill file (fsync'd) every SPILL_INTERVAL_S, or as soon as a batch
        waits, until stopping."""
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._spill_wake.wait(), SPILL_INTERVAL_S)
            self._spill_wake.clear()
            if not self._spill_queue or self._stopping:  # stop() spills what is left itself
                continue
            batch = self._spill_queue[:]
            try:
                await asyncio.to_thread(self.spill.append, batch)
            except OSError as error:
                if not self._spill_failing:
                    log.error("click buffer: cannot spill to %s (%s): shed clicks wait in memory, beyond %d lost",
                              self.spill.directory, error, self.max_spill_queue)  # fmt: skip
                self._spill_failing = True
                await asyncio.sleep(1.0)  # stop() waits for this at most, then spills (or counts) the rest itself
                continue
            if self._spill_failing:
                log.warning("click buffer: spilling to %s works again", self.spill.directory)
            self._spill_failing = False
            del self._spill_queue[: len(batch)]
            self._spilled += len(batch)
            self._replay_due = True

    async def _replay_step(self, limit: int) -> int:
        """Write the next `limit` clicks of a spill file (claiming one first); returns how many were tried
        (0: nothing to replay). Raises what the write raises; a row the database refuses is set aside."""
        claimed = self._replaying
        if claimed is None:
            self._replay_checked = time.monotonic()
            claimed = await asyncio.to_thread(self.spill.claim)
            if claimed is None:
                self._replay_due = False
                return 0
            self._replaying = claimed
            log.info("click buffer: replaying %d spilled clicks from %s", len(claimed.clicks), claimed.path)
        chunk = claimed.clicks[claimed.position : claimed.position + limit]
        if chunk:
            try:
                self._replayed += await self._write(chunk, True)  # stored ids skipped: a replay writes each once
            except Exception as error:
                if not is_row_error(error) or len(chunk) > 1:
                    raise
                log.error("click buffer: spilled click %r cannot be written, set aside: %s", chunk[0], error)
                self._unwritable_replayed += 1
            claimed.position += len(chunk)
        if claimed.position >= len(claimed.clicks):
            await asyncio.to_thread(ClickSpill.finish, claimed)
            self._replaying = None
            log.info("click buffer: %s replayed", claimed.path)
        return max(1, len(chunk))

    async def _flush_forever(self) -> None:
        failures = 0
        limit = self.batch_size
        while True:
            if not self._pending and self._stopping:
                return  # spill files left are replayed by the next start
            if not self._replay_due and time.monotonic() - self._replay_checked > REPLAY_CHECK_S:
                self._replay_checked = time.monotonic()  # files of a process that died since
                self._replay_due = await asyncio.to_thread(self.spill.has_files)
            replay = self._replay_due and failures == 0 and not self._stopping
            if len(self._pending) < self.batch_size and not self._flush_waiters and not self._stopping and not replay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.flush_interval_s)
                self._wake.clear()
            replay = self._replay_due and not self._stopping and len(self._pending) < self.batch_size
            if not self._pending and not replay:
                continue
            batch = self._pending[:limit]
            try:
                # After a failure the commit may have happened anyway: the retry skips stored ids.
                if batch:
                    await self._write(batch, failures > 0)
                else:  # nothing else waits: the next clicks of a spill file
                    await self._replay_step(limit)
            except Exception as error:
                failures += 1
                if is_row_error(error):
                    if len(batch) > 1 or (not batch and limit > 1):
                        limit = max(1, (len(batch) or limit) // 2)  # bisect towards the row that cannot be written
                        continue
                    if not batch:
                        continue  # _replay_step sets a single spilled click aside itself
                    log.error("click buffer: click %r cannot be written, set aside: %s (%s)", batch[0], error,
                              type(error).__name__)  # fmt: skip
                    self.unwritable.append(batch[0])
                    self._written(1)
                    continue
                delay = min(MAX_BACKOFF_S, 0.05 * 2 ** min(failures, 10))
                self.failing_since = self.failing_since or time.time()
                self.last_error = f"{type(error).__name__}: {error}"[:500]
                log.warning("click buffer: writing %d clicks failed (attempt %d), retrying in %.2f s: %s",
                            len(batch) or limit, failures, delay, error)  # fmt: skip
                await asyncio.sleep(delay)
                continue
            failures = 0
            limit = self.batch_size
            self.failing_since = self.last_error = None
            if batch:
                self._written(len(batch))

    def _written(self, count: int) -> None:
        del self._pending[:count]
        self._done += count
        self.full = len(self._pending) >= self.max_pending
        if self._flush_waiters:
            waiting = []
            for target, waiter in self._flush_waiters:
                if self._done >= target:
                    if not waiter.done():
                        waiter.set_result(None)
                else:
                    waiting.append((target, waiter))
            self._flush_waiters = waiting
