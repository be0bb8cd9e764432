"""Pure decisions of the job queue, the schedules and Idempotency-Key: no session, no clock."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"

    @property
    def is_finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.DEAD)

    @property
    def can_retry(self) -> bool:
        """Only a dead job is put back by hand; a queued one retries by itself."""
        return self is JobStatus.DEAD


BACKOFF_BASE = timedelta(seconds=15)
BACKOFF_CAP = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failed tries: 15 s, 30 s, 1 min, … capped at 1 h."""
    if attempts < 1:
        return timedelta(0)
    # The exponent is bounded so that a huge attempt count cannot overflow timedelta.
    delay: timedelta = BACKOFF_BASE * 2 ** min(attempts - 1, 20)
    return min(delay, BACKOFF_CAP)


@dataclass(frozen=True)
class FailureOutcome:
    status: JobStatus
    run_at: datetime


def after_failure(attempts: int, max_attempts: int, now: datetime) -> FailureOutcome:
    """A failed try goes back to the queue after its backoff, or dead once `max_attempts` are spent."""
    if attempts >= max_attempts:
        return FailureOutcome(JobStatus.DEAD, now)
    return FailureOutcome(JobStatus.QUEUED, now + backoff(attempts))


def next_schedule_run(previous: datetime, interval: timedelta, now: datetime) -> datetime:
    """The next due time of a periodic job: one interval after now (missed runs are not caught up)."""
    return max(previous, now) + interval


class IdempotencyDecision(StrEnum):
    REPLAY = "replay"  # same request, finished: answer the stored response
    REUSED = "reused"  # same key, another request: 409
    IN_PROGRESS = "in_progress"  # same request still running elsewhere: wait for it
    EXPIRED = "expired"  # stored too long ago, or abandoned by a crashed process: forget it and run again


IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
# A request still "in progress" after this long lost its process (killed mid-request).
IDEMPOTENCY_ABANDONED_AFTER = timedelta(minutes=1)
IDEMPOTENCY_KEY_MAX_LENGTH = 255


def idempotency_decision(
    *, stored_hash: str, stored_status: int | None, created_at: datetime, request_hash: str, now: datetime
) -> IdempotencyDecision:
    """What to do with a request whose Idempotency-Key is already stored."""
    age = now - created_at
    if age >= IDEMPOTENCY_KEY_TTL:
        return IdempotencyDecision.EXPIRED
    if stored_hash != request_hash:
        return IdempotencyDecision.REUSED
    if stored_status is not None:
        return IdempotencyDecision.REPLAY
    if age >= IDEMPOTENCY_ABANDONED_AFTER:
        return IdempotencyDecision.EXPIRED
    return IdempotencyDecision.IN_PROGRESS


def is_stored_response(status_code: int) -> bool:
    """5xx and 429 (rate limited) answers are not stored, so a retry with the same key runs the request
    again: the request never ran."""
    return status_code < 500 and status_code != 429


def request_fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """sha256 of what makes two requests "the same": method, path, query string and body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query):
        digest.update(len(part).to_bytes(8, "big") + part)  # length-prefixed: no ambiguous joins
    digest.update(body)
    return digest.hexdigest()
