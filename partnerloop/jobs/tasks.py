"""Built-in jobs: `noop` (tests, health checks) and the housekeeping sweeps."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from partnerloop.jobs import queue
from partnerloop.jobs.rules import IDEMPOTENCY_KEY_TTL
from partnerloop.kit.time import utc_now
from partnerloop.models import IdempotencyKey

FINISHED_JOBS_KEPT_FOR = timedelta(days=7)


@queue.job_handler("noop")
def noop(_session: Session, payload: dict[str, Any]) -> None:
    """Does nothing, after `sleep_ms` milliseconds when given (to make a job take time)."""
    sleep_ms = payload.get("sleep_ms")
    if isinstance(sleep_ms, int) and sleep_ms > 0:
        time.sleep(sleep_ms / 1000)


@queue.job_handler("sweep_idempotency_keys")
def sweep_idempotency_keys(session: Session, _payload: dict[str, Any]) -> None:
    """Forget Idempotency-Keys older than their 24 h lifetime."""
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < utc_now() - IDEMPOTENCY_KEY_TTL))


@queue.job_handler("sweep_finished_jobs")
def sweep_finished_jobs(session: Session, _payload: dict[str, Any]) -> None:
    """Delete done jobs after a week (dead ones stay until a manager retries or deletes them)."""
    queue.delete_finished(session, utc_now() - FINISHED_JOBS_KEPT_FOR)
