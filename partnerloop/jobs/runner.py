"""Running jobs: the in-process runner inside `serve` and the `partnerloop worker` loop.

Both call `work_batch`: tick the schedules, then claim and run jobs one at a time until none is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime
from types import FrameType

from sqlalchemy import Engine

from partnerloop.config import Settings
from partnerloop.db import transaction
from partnerloop.jobs import queue, schedules
from partnerloop.jobs.rules import JobStatus
from partnerloop.kit.time import utc_now

log = logging.getLogger("partnerloop.jobs")

MAX_JOBS_PER_BATCH = 100  # then tick the schedules again, so a long backlog does not starve them
ERROR_PAUSE_MAX_SECONDS = 30.0


def worker_identity() -> str:
    """hostname:pid, recorded in jobs.locked_by."""
    return f"{socket.gethostname()}:{os.getpid()}"


def execute(engine: Engine, job: queue.ClaimedJob, worker_id: str, *, now: datetime | None = None) -> JobStatus | None:
    """Run a claimed job's handler in one transaction with marking it done; on failure, retry or dead.

    Returns the job's new status, or None when another worker had taken the job over (lease expired).
    """
    handler = queue.handler_for(job.kind)
    if handler is None:
        with transaction(engine) as session:
            queue.mark_dead(
                session, job, worker_id, now or utc_now(), f"No handler is registered for job kind '{job.kind}'."
            )
        log.error("job %s: unknown kind '%s', marked dead", job.id, job.kind)
        return JobStatus.DEAD
    try:
        if isinstance(handler, queue.SplitJobHandler):
            return execute_split(engine, handler, [job], worker_id, now=now)
        else:
            with transaction(engine) as session:
                queue.lock_own_job(session, job.id, worker_id)
                handler(session, job.payload)
                queue.mark_done(session, job.id, worker_id, now or utc_now())
    except queue.LeaseLost:
        log.warning("job %s (%s): taken over by another worker, result discarded", job.id, job.kind)
        return None
    except Exception as error:  # any failure of a handler is recorded on the job, never lost
        summary = f"{type(error).__name__}: {error}"
        details = f"{summary}\n\n{traceback.format_exc()[-3000:]}"
        with transaction(engine) as session:
            status = queue.mark_failed(session, job, worker_id, now or utc_now(), details)
        log.warning(
            "job %s (%s) failed on attempt %d of %d (%s): %s",
            job.id,
            job.kind,
            job.attempts,
            job.max_attempts,
            status.value,
            summary,
        )
        return status
    return JobStatus.DONE


def execute_split(
    engine: Engine,
    handler: queue.SplitJobHandler,
    jobs: list[queue.ClaimedJob],
    worker_id: str,
    *,
    now: datetime | None = None,
) -> JobStatus | None:
    """Run claimed jobs of one SplitJobHandler together: prepare, perform (no transaction open), then
    finish and mark them all done in one transaction; on failure each is retried or dead."""
    payloads = [job.payload for job in jobs]
    try:
        with transaction(engine, writes=False) as session:
            prepared = handler.prepare(session, payloads)
        outcome = handler.perform(prepared)  # no transaction open: the network may be slow
        job_ids = [job.id for job in jobs]
        with transaction(engine) as session:
            queue.lock_own_jobs(session, job_ids, worker_id)
            handler.finish(session, payloads, outcome)
            queue.mark_all_done(session, job_ids, worker_id, now or utc_now())
    except queue.LeaseLost:
        log.warning("jobs %s (%s): taken over by another worker, result discarded", [j.id for j in jobs], jobs[0].kind)
        return None
    except Exception as error:  # any failure of a handler is recorded on each job, never lost
        summary = f"{type(error).__name__}: {error}"
        details = f"{summary}\n\n{traceback.format_exc()[-3000:]}"
        status = JobStatus.DEAD
        with transaction(engine) as session:
            for job in jobs:
                status = queue.mark_failed(session, job, worker_id, now or utc_now(), details)
        log.warning("%d %s jobs failed (%s): %s", len(jobs), jobs[0].kind, status.value, summary)
        return status
    return JobStatus.DONE


def run_next_job(engine: Engine, worker_id: str, *, now: datetime | None = None) -> bool:
    """Claim one due job (with more of its kind when its handler takes batches) and run it; False when
    none was due."""
    with transaction(engine) as session:
        job = queue.claim(session, worker_id, now or utc_now())
        handler = queue.handler_for(job.kind) if job is not None else None
        batch = [job] if job is not None else []
        if job is not None and isinstance(handler, queue.SplitJobHandler) and handler.batch > 1:
            batch += queue.claim_more(session, job.kind, worker_id, now or utc_now(), handler.batch - 1)
    if job is None:
        return False
    if isinstance(handler, queue.SplitJobHandler):
        execute_split(engine, handler, batch, worker_id, now=now)
    else:
        execute(engine, job, worker_id, now=now)
    return True


def work_batch(
    engine: Engine, worker_id: str, should_stop: Callable[[], bool], periodic: Sequence[schedules.PeriodicJob]
) -> int:
    """Enqueue due schedules, then run due jobs until none is left (or a stop); return how many ran."""
    schedules.tick_if_due(engine, utc_now(), periodic)
    ran = 0
    while ran < MAX_JOBS_PER_BATCH and not should_stop():
        if not run_next_job(engine, worker_id):
            break
        ran += 1
    return ran


class JobRunner:
    """The in-process runner of `serve`: one asyncio task; each batch runs in a thread."""

    def __init__(self, engine: Engine, settings: Settings, periodic: Sequence[schedules.PeriodicJob]) -> None:
        self.engine = engine
        self.periodic = periodic
        self.poll_seconds = settings.job_poll_interval_ms / 1000
        self.worker_id = worker_identity()
        self._stopping = False
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stopping = False
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="partnerloop-job-runner")
        log.info("job runner %s started", self.worker_id)

    async def stop(self) -> None:
        """Take no new job; wait for the one in hand to finish."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    def _should_stop(self) -> bool:
        return self._stopping

    async def _loop(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                ran = await asyncio.to_thread(work_batch, self.engine, self.worker_id, self._should_stop, self.periodic)
                failures = 0
            except Exception:  # e.g. the database is briefly unreachable: log, wait, go on
                failures += 1
                log.exception("job runner: batch failed")
                await self._sleep(min(ERROR_PAUSE_MAX_SECONDS, self.poll_seconds * 2**failures))
                continue
            if ran == 0:
                await self._sleep(self.poll_seconds)

    async def _sleep(self, seconds: float) -> None:
        assert self._wake is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)


class _StopRequest:
    """Set from a signal handler: a plain flag (an Event's lock could deadlock inside a handler)."""

    def __init__(self) -> None:
        self.requested = False

    def request(self, signum: int, _frame: FrameType | None) -> None:
        if not self.requested:
            log.info("%s received: finishing the job in hand, then stopping", signal.Signals(signum).name)
        self.requested = True

    def is_requested(self) -> bool:
        return self.requested

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.requested and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def run_worker_forever(engine: Engine, settings: Settings, periodic: Sequence[schedules.PeriodicJob]) -> None:
    """`partnerloop worker`: run jobs until SIGTERM or SIGINT, which finish the current job; then return."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    worker_id = worker_identity()
    stop = _StopRequest()
    signal.signal(signal.SIGTERM, stop.request)
    signal.signal(signal.SIGINT, stop.request)
    poll_seconds = settings.job_poll_interval_ms / 1000
    log.info("worker %s started on %s", worker_id, engine.dialect.name)
    failures = 0
    while not stop.is_requested():
        try:
            ran = work_batch(engine, worker_id, stop.is_requested, periodic)
            failures = 0
        except Exception:  # the database restarting must not kill the worker
            failures += 1
            log.exception("worker %s: batch failed", worker_id)
            stop.sleep(min(ERROR_PAUSE_MAX_SECONDS, poll_seconds * 2**failures))
            continue
        if ran == 0:
            stop.sleep(poll_seconds)
    engine.dispose()
    log.info("worker %s stopped", worker_id)
