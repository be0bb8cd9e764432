"""The durable job queue: a table in the application database (transactional outbox).

A job is enqueued in the caller's transaction, so it exists exactly when the change that causes it
was committed. Workers claim one job at a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the
writing transaction is already exclusive), run its handler in a transaction that also marks it done,
and on failure put it back with exponential backoff until it is dead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from partnerloop.db import insert_ignore
from partnerloop.jobs.rules import JobStatus, after_failure
from partnerloop.kit.errors import Conflict, NotFound
from partnerloop.kit.ids import new_id
from partnerloop.kit.time import as_utc, utc_now
from partnerloop.models import Job

log = logging.getLogger("partnerloop.jobs")

JobHandler = Callable[[Session, dict[str, Any]], None]

DEFAULT_MAX_ATTEMPTS = 8
# The lease only matters when a worker died: a live worker holds the job's row lock while it runs.
LEASE = timedelta(seconds=60)
MAX_ERROR_LENGTH = 4000


class JobNotFound(NotFound):
    pass


class JobNotRetryable(Conflict):
    pass


class LeaseLost(Exception):
    """The job was taken over by another worker after this worker's lease expired."""


@dataclass(frozen=True)
class SplitJobHandler:
    """Jobs that talk to the network without holding a transaction (a slow receiver must not hold
    SQLite's write lock), taken up to `batch` at a time: `prepare` reads the jobs' payloads in a short
    transaction, `perform` runs with none open, and `finish` writes the outcome in the transaction that
    marks the jobs done."""

    prepare: Callable[[Session, list[dict[str, Any]]], Any]
    perform: Callable[[Any], Any]
    finish: Callable[[Session, list[dict[str, Any]], Any], None]
    batch: int = 1


@dataclass(frozen=True)
class JobSpec:
    """A job to enqueue with enqueue_many."""

    kind: str
    payload: dict[str, Any]
    program_id: str | None = None
    run_at: datetime | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS


_handlers: dict[str, JobHandler | SplitJobHandler] = {}


def split_job_handler(kind: str, handler: SplitJobHandler) -> SplitJobHandler:
    """Register a SplitJobHandler for jobs of `kind`."""
    existing = _handlers.get(kind)
    if existing is not None and existing is not handler:
        raise ValueError(f"Job kind '{kind}' already has a handler ({existing!r}).")
    _handlers[kind] = handler
    return handler


def job_handler(kind: str) -> Callable[[JobHandler], JobHandler]:
    """Register `def handler(session, payload) -> None` for jobs of `kind`."""

    def register(handler: JobHandler) -> JobHandler:
        existing = _handlers.get(kind)
        if existing is not None and existing is not handler:
            name = (
                repr(existing)
                if isinstance(existing, SplitJobHandler)
                else f"{existing.__module__}.{existing.__qualname__}"
            )
            raise ValueError(f"Job kind '{kind}' already has a handler ({name}).")
        _handlers[kind] = handler
        return handler

    return register


def handler_for(kind: str) -> JobHandler | SplitJobHandler | None:
    return _handlers.get(kind)


def registered_kinds() -> frozenset[str]:
    return frozenset(_handlers)


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    program_id: str | None = None,
    run_at: datetime | None = None,
    unique_key: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> str | None:
    """Add a job in the caller's transaction; return its id, or None when `unique_key` was already taken.

    A job with a `unique_key` is enqueued at most once for as long as its row exists.
    """
    job_id = new_id()
    values: dict[str, Any] = {
        "id": job_id,
        "kind": kind,
        "payload": payload or {},
        "program_id": program_id,
        "status": JobStatus.QUEUED.value,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_at": run_at or utc_now(),
        "unique_key": unique_key,
        "created_at": utc_now(),
    }
    if unique_key is None:
        session.add(Job(**values))
        session.flush()
        return job_id
    return job_id if insert_ignore(session, Job, values, ["unique_key"]) else None


def enqueue_many(session: Session, jobs: list[JobSpec]) -> list[str]:
    """Add several jobs (no unique keys) in one INSERT in the caller's transaction; return their ids.

    The cheap way on a hot path: a Core insert, no ORM flush (the outbox row of `webhook.emit`)."""
    if not jobs:
        return []
    now = utc_now()
    rows = [
        {
            "id": new_id(),
            "kind": job.kind,
            "payload": job.payload,
            "program_id": job.program_id,
            "status": JobStatus.QUEUED.value,
            "attempts": 0,
            "max_attempts": job.max_attempts,
            "run_at": job.run_at or now,
            "unique_key": None,
            "created_at": now,
        }
        for job in jobs
    ]
    session.execute(insert(Job), rows)
    return [str(row["id"]) for row in rows]


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    kind: str
    payload: dict[str, Any]
    program_id: str | None
    attempts: int
    max_attempts: int


def claim(session: Session, worker_id: str, now: datetime, *, lease: timedelta = LEASE) -> ClaimedJob | None:
    """Take one job due at `now` (or one whose worker's lease expired) for `worker_id`; commit at once.

    Returns None when nothing is due. A job whose lease expired after its last allowed attempt goes dead.
    """
    due = or_(
        and_(Job.status == JobStatus.QUEUED.value, Job.run_at <= now),
        and_(Job.status == JobStatus.RUNNING.value, Job.locked_until < now),
    )
    # SKIP LOCKED: concurrent workers each take a different row instead of waiting; SQLite ignores it.
    statement = select(Job).where(due).order_by(Job.run_at).limit(1).with_for_update(skip_locked=True)
    while True:
        job = session.execute(statement).scalar_one_or_none()
        if job is None:
            return None
        if job.status == JobStatus.RUNNING.value and job.attempts >= job.max_attempts:
            job.status = JobStatus.DEAD.value
            job.last_error = (
                f"The worker {job.locked_by} stopped while running attempt {job.attempts} of "
                f"{job.max_attempts} (lease expired); no attempts left."
            )
            job.locked_by = job.locked_until = None
            job.finished_at = now
            session.flush()
            continue
        if job.status == JobStatus.RUNNING.value:
            log.warning("job %s (%s): lease of %s expired, reclaimed by %s", job.id, job.kind, job.locked_by, worker_id)
        job.status = JobStatus.RUNNING.value
        job.locked_by = worker_id
        job.locked_until = now + lease
        job.attempts += 1
        session.flush()
        return _claimed(job)


def _claimed(row: Any) -> ClaimedJob:
    """A claimed job (a Job, or a row of its columns) as its handler gets it."""
    return ClaimedJob(
        id=row.id,
        kind=row.kind,
        payload=dict(row.payload or {}),
        program_id=row.program_id,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
    )


def claim_more(
    session: Session, kind: str, worker_id: str, now: datetime, limit: int, *, lease: timedelta = LEASE
) -> list[ClaimedJob]:
    """Take up to `limit` more queued jobs of `kind` due at `now` (a batch for a SplitJobHandler), in the
    caller's claiming transaction."""
    if limit < 1:
        return []
    # One UPDATE … RETURNING (it was a SELECT and one UPDATE per job): the batch's claim is one round trip.
    due = (
        select(Job.id)
        .where(Job.kind == kind, Job.status == JobStatus.QUEUED.value, Job.run_at <= now)
        .order_by(Job.run_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(Job)
        .where(Job.id.in_(due), Job.status == JobStatus.QUEUED.value)
        .values(
            status=JobStatus.RUNNING.value, locked_by=worker_id, locked_until=now + lease, attempts=Job.attempts + 1
        )
        .returning(Job.id, Job.kind, Job.payload, Job.program_id, Job.attempts, Job.max_attempts, Job.run_at)
        .execution_options(synchronize_session=False)
    )
    rows = sorted(session.execute(statement).all(), key=lambda row: (as_utc(row.run_at), row.id))
    return [_claimed(row) for row in rows]


def lock_own_job(session: Session, job_id: str, worker_id: str) -> None:
    """Lock the claimed job's row for the handler's transaction; raise LeaseLost if it is no longer ours."""
    owned = session.execute(
        select(Job.id)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING.value, Job.locked_by == worker_id)
        .with_for_update()
    ).scalar_one_or_none()
    if owned is None:
        raise LeaseLost(f"Job {job_id} is no longer held by {worker_id}.")


def lock_own_jobs(session: Session, job_ids: list[str], worker_id: str) -> None:
    """lock_own_job for a batch, in one statement (id order)."""
    owned = session.execute(
        select(Job.id)
        .where(Job.id.in_(job_ids), Job.status == JobStatus.RUNNING.value, Job.locked_by == worker_id)
        .order_by(Job.id)
        .with_for_update()
    ).scalars()
    lost = set(job_ids) - set(owned)
    if lost:
        raise LeaseLost(f"Jobs {sorted(lost)} are no longer held by {worker_id}.")


def mark_all_done(session: Session, job_ids: list[str], worker_id: str, now: datetime) -> None:
    """mark_done for a batch, in one statement."""
    session.execute(
        update(Job)
        .where(Job.id.in_(job_ids), Job.locked_by == worker_id)
        .values(status=JobStatus.DONE.value, locked_until=None, finished_at=now)
    )


def mark_done(session: Session, job_id: str, worker_id: str, now: datetime) -> None:
    """In the handler's transaction: the job is done (the worker stays recorded in locked_by)."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id)
        .values(status=JobStatus.DONE.value, locked_until=None, finished_at=now)
    )


def mark_failed(session: Session, job: ClaimedJob, worker_id: str, now: datetime, error: str) -> JobStatus:
    """Back to the queue after its backoff, or dead after the last attempt; returns the new status."""
    outcome = after_failure(job.attempts, job.max_attempts, now)
    session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == JobStatus.RUNNING.value, Job.locked_by == worker_id)
        .values(
            status=outcome.status.value,
            run_at=outcome.run_at,
            last_error=error[:MAX_ERROR_LENGTH],
            locked_by=None,
            locked_until=None,
            finished_at=now if outcome.status is JobStatus.DEAD else None,
        )
    )
    return outcome.status


def mark_dead(session: Session, job: ClaimedJob, worker_id: str, now: datetime, error: str) -> None:
    """Dead at once, whatever attempts are left (e.g. no handler for its kind)."""
    session.execute(
        update(Job)
        .where(Job.id == job.id, Job.locked_by == worker_id)
        .values(
            status=JobStatus.DEAD.value,
            last_error=error[:MAX_ERROR_LENGTH],
            locked_by=None,
            locked_until=None,
            finished_at=now,
        )
    )


def retry_dead(session: Session, job_id: str, *, program_id: str | None = None, now: datetime | None = None) -> Job:
    """Put a dead job back in the queue with a fresh set of attempts; scoped to `program_id` when given."""
    statement = select(Job).where(Job.id == job_id).with_for_update()
    if program_id is not None:
        statement = statement.where(Job.program_id == program_id)
    job = session.execute(statement).scalar_one_or_none()
    if job is None:
        raise JobNotFound(f"No job {job_id}.")
    if not JobStatus(job.status).can_retry:
        raise JobNotRetryable(f"Job {job_id} is {job.status}: only a dead job can be retried.")
    job.status = JobStatus.QUEUED.value
    job.attempts = 0
    job.run_at = now or utc_now()
    job.locked_by = job.locked_until = job.finished_at = None
    session.flush()
    return job


def delete_finished(session: Session, before: datetime) -> int:
    """Delete done jobs finished before `before`, except those whose unique_key still guards a duplicate."""
    result = session.execute(
        delete(Job).where(Job.status == JobStatus.DONE.value, Job.finished_at < before, Job.unique_key.is_(None))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class QueueFigures:
    """The queue across all programs, for /metrics: jobs per (kind, status) (queued, running and dead;
    done jobs are history, not depth), queued jobs per kind that already failed at least once, and how
    long the oldest job that is due has waited (0.0 when none is due)."""

    jobs: dict[tuple[str, str], int]
    retrying: dict[str, int]
    oldest_due_seconds: float


def queue_figures(session: Session, now: datetime) -> QueueFigures:
    """Two aggregate queries over the statuses the claim index leads with; no program is named."""
    waiting = (JobStatus.QUEUED.value, JobStatus.RUNNING.value, JobStatus.DEAD.value)
    failed_before = case((and_(Job.status == JobStatus.QUEUED.value, Job.attempts > 0), 1), else_=0)
    rows = session.execute(
        select(Job.kind, Job.status, func.count(), func.sum(failed_before))
        .where(Job.status.in_(waiting))
        .group_by(Job.kind, Job.status)
    ).all()
    oldest = session.execute(
        select(func.min(Job.run_at)).where(Job.status == JobStatus.QUEUED.value, Job.run_at <= now)
    ).scalar_one_or_none()
    retrying: dict[str, int] = {}
    for kind, status, _count, failed in rows:
        if status == JobStatus.QUEUED.value:
            retrying[kind] = int(failed or 0)
    return QueueFigures(
        jobs={(kind, status): int(count) for kind, status, count, _failed in rows},
        retrying=retrying,
        oldest_due_seconds=0.0 if oldest is None else max(0.0, (now - as_utc(oldest)).total_seconds()),
    )
