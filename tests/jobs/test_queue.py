"""The durable queue against a real database: enqueue, claim, run, retry, die, reclaim, schedules."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from partnerloop.db import transaction
from partnerloop.jobs import queue, schedules
from partnerloop.jobs.rules import JobStatus, backoff
from partnerloop.jobs.runner import execute, run_next_job
from partnerloop.models import Job, Schedule
from tests.conftest import ProgramKeys
from tests.jobs.factories import count_jobs, get_job

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
_flaky_failures_left: dict[str, int] = {}


@queue.job_handler("test.always_fails")
def _always_fails(session: Session, payload: dict[str, Any]) -> None:
    # Writes first, then fails: the write must be rolled back with the failed attempt.
    queue.enqueue(session, "noop", {"written_by": "a failed attempt"})
    raise ValueError(f"boom {payload.get('n', '')}".strip())


@queue.job_handler("test.flaky")
def _flaky(_session: Session, payload: dict[str, Any]) -> None:
    name = str(payload["name"])
    if _flaky_failures_left.get(name, 0) > 0:
        _flaky_failures_left[name] -= 1
        raise RuntimeError("not yet")


@queue.job_handler("test.enqueues_follow_up")
def _enqueues_follow_up(session: Session, payload: dict[str, Any]) -> None:
    queue.enqueue(session, "noop", {"follow_up_of": payload["n"]})


def _enqueue(engine: Engine, kind: str, payload: dict[str, Any] | None = None, **options: Any) -> str | None:
    with transaction(engine) as session:
        return queue.enqueue(session, kind, payload, **options)


def test_a_job_enqueued_in_a_rolled_back_transaction_does_not_exist(engine: Engine) -> None:
    with pytest.raises(RuntimeError), transaction(engine) as session:
        queue.enqueue(session, "noop", {"n": 1})
        raise RuntimeError("the change that caused the job failed")
    assert count_jobs(engine) == 0
    _enqueue(engine, "noop", {"n": 2})
    assert count_jobs(engine) == 1


def test_a_unique_key_enqueues_once(engine: Engine) -> None:
    first = _enqueue(engine, "noop", unique_key="approve:c1")
    second = _enqueue(engine, "noop", unique_key="approve:c1")
    assert first is not None
    assert second is None
    assert count_jobs(engine) == 1
    assert _enqueue(engine, "noop", unique_key="approve:c2") is not None


def test_a_job_is_not_claimed_before_its_run_at(engine: Engine) -> None:
    job_id = _enqueue(engine, "noop", run_at=T0 + 10 * SECOND)
    assert run_next_job(engine, "w1", now=T0) is False
    assert run_next_job(engine, "w1", now=T0 + 10 * SECOND) is True
    job = get_job(engine, str(job_id))
    assert (job.status, job.attempts, job.locked_by, job.finished_at) == ("done", 1, "w1", T0 + 10 * SECOND)
    assert run_next_job(engine, "w1", now=T0 + 20 * SECOND) is False


def test_a_handler_commits_its_writes_with_the_job_done(engine: Engine) -> None:
    job_id = _enqueue(engine, "test.enqueues_follow_up", {"n": 7}, run_at=T0)
    assert run_next_job(engine, "w1", now=T0)
    assert get_job(engine, str(job_id)).status == "done"
    with transaction(engine, writes=False) as session:
        follow_up = session.execute(select(Job).where(Job.kind == "noop")).scalar_one()
    assert follow_up.payload == {"follow_up_of": 7}
    assert follow_up.status == "queued"


def test_a_failing_handler_retries_with_backoff_then_goes_dead(engine: Engine) -> None:
    job_id = str(_enqueue(engine, "test.always_fails", {"n": 1}, run_at=T0, max_attempts=3))
    now = T0
    for attempt in (1, 2):
        assert run_next_job(engine, "w1", now=now)
        job = get_job(engine, job_id)
        assert (job.status, job.attempts, job.locked_by) == ("queued", attempt, None)
        assert job.run_at == now + backoff(attempt)
        assert job.last_error is not None
        assert job.last_error.startswith("ValueError: boom 1")
        # not due a second before its backoff ends
        assert run_next_job(engine, "w1", now=job.run_at - SECOND) is False
        now = job.run_at
    assert run_next_job(engine, "w1", now=now)
    job = get_job(engine, job_id)
    assert (job.status, job.attempts, job.finished_at) == ("dead", 3, now)
    assert run_next_job(engine, "w1", now=now + timedelta(days=1)) is False
    # the failed attempts' own writes were rolled back each time
    assert count_jobs(engine, kind="noop") == 0


def test_retry_dead_puts_a_dead_job_back_with_fresh_attempts(engine: Engine, program: ProgramKeys) -> None:
    _flaky_failures_left["retry"] = 2
    job_id = str(_enqueue(engine, "test.flaky", {"name": "retry"}, run_at=T0, max_attempts=1, program_id=program.id))
    assert run_next_job(engine, "w1", now=T0)
    assert get_job(engine, job_id).status == "dead"
    with transaction(engine) as session:
        queue.retry_dead(session, job_id, program_id=program.id, now=T0 + SECOND)
    job = get_job(engine, job_id)
    assert (job.status, job.attempts, job.run_at, job.finished_at) == ("queued", 0, T0 + SECOND, None)
    assert run_next_job(engine, "w1", now=T0 + SECOND)
    assert get_job(engine, job_id).status == "dead"  # failed again: it had one attempt
    with transaction(engine) as session:
        queue.retry_dead(session, job_id, now=T0 + 2 * SECOND)
    assert run_next_job(engine, "w1", now=T0 + 2 * SECOND)
    job = get_job(engine, job_id)
    assert (job.status, job.attempts) == ("done", 1)


def test_retry_dead_refuses_other_programs_unknown_ids_and_live_jobs(
    engine: Engine, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    job_id = str(_enqueue(engine, "test.always_fails", run_at=T0, max_attempts=1, program_id=program.id))
    with pytest.raises(queue.JobNotRetryable), transaction(engine) as session:
        queue.retry_dead(session, job_id)  # still queued
    assert run_next_job(engine, "w1", now=T0)
    with pytest.raises(queue.JobNotFound), transaction(engine) as session:
        queue.retry_dead(session, job_id, program_id=other_program.id)
    with pytest.raises(queue.JobNotFound), transaction(engine) as session:
        queue.retry_dead(session, "01nosuchjob0000000000000000")
    assert get_job(engine, job_id).status == "dead"


def test_an_unknown_kind_goes_dead_at_once_naming_the_kind(engine: Engine) -> None:
    job_id = str(_enqueue(engine, "no.such.kind", run_at=T0))
    assert run_next_job(engine, "w1", now=T0)
    job = get_job(engine, job_id)
    assert (job.status, job.attempts) == ("dead", 1)
    assert job.last_error == "No handler is registered for job kind 'no.such.kind'."


def test_a_job_whose_worker_died_is_reclaimed_after_its_lease(engine: Engine) -> None:
    job_id = str(_enqueue(engine, "noop", run_at=T0))
    with transaction(engine) as session:
        lost = queue.claim(session, "dead-worker", T0)
    assert lost is not None
    with transaction(engine) as session:
        assert queue.claim(session, "w2", T0 + queue.LEASE - SECOND) is None  # still leased
    with transaction(engine) as session:
        taken_over = queue.claim(session, "w2", T0 + queue.LEASE + SECOND)
    assert taken_over is not None
    assert (taken_over.id, taken_over.attempts) == (job_id, 2)
    # the first worker waking up late must not run it a second time
    assert execute(engine, lost, "dead-worker", now=T0 + queue.LEASE + 2 * SECOND) is None
    assert get_job(engine, job_id).locked_by == "w2"
    assert execute(engine, taken_over, "w2", now=T0 + queue.LEASE + 2 * SECOND) is JobStatus.DONE
    job = get_job(engine, job_id)
    assert (job.status, job.attempts, job.locked_by) == ("done", 2, "w2")


def test_a_job_whose_worker_died_on_its_last_attempt_goes_dead(engine: Engine) -> None:
    job_id = str(_enqueue(engine, "noop", run_at=T0, max_attempts=1))
    with transaction(engine) as session:
        assert queue.claim(session, "dead-worker", T0) is not None
    with transaction(engine) as session:
        assert queue.claim(session, "w2", T0 + queue.LEASE + SECOND) is None
    job = get_job(engine, job_id)
    assert (job.status, job.attempts) == ("dead", 1)
    assert "dead-worker" in str(job.last_error)


def test_concurrent_claimers_never_take_the_same_job(engine: Engine) -> None:
    with transaction(engine) as session:
        ids = {str(queue.enqueue(session, "noop", {"n": n}, run_at=T0)) for n in range(60)}
    claimed: dict[str, list[str]] = {}
    start = threading.Barrier(4)

    def claimer(worker_id: str) -> None:
        taken: list[str] = []
        start.wait()
        while True:
            with transaction(engine) as session:
                job = queue.claim(session, worker_id, T0)
            if job is None:
                break
            taken.append(job.id)
        claimed[worker_id] = taken

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    every_claim = [job_id for taken in claimed.values() for job_id in taken]
    assert len(claimed) == 4
    assert sorted(every_claim) == sorted(ids)  # each job once, none twice


EVERY_MINUTE = (schedules.PeriodicJob("test_every_minute", "noop", timedelta(minutes=1), {"periodic": True}),)


def _tick(engine: Engine, now: datetime) -> list[str]:
    with transaction(engine) as session:
        return schedules.tick(session, now, EVERY_MINUTE)


def test_a_schedule_is_due_at_once_then_every_interval(engine: Engine) -> None:
    assert _tick(engine, T0) == ["test_every_minute"]
    assert _tick(engine, T0 + 30 * SECOND) == []
    assert _tick(engine, T0 + 60 * SECOND) == ["test_every_minute"]
    assert _tick(engine, T0 + 61 * SECOND) == []
    with transaction(engine, writes=False) as session:
        jobs = session.execute(select(Job.kind, Job.payload, Job.run_at).order_by(Job.run_at)).all()
        next_run_at = session.get(Schedule, "test_every_minute")
    assert [tuple(job) for job in jobs] == [
        ("noop", {"periodic": True}, T0),
        ("noop", {"periodic": True}, T0 + 60 * SECOND),
    ]
    assert next_run_at is not None
    assert next_run_at.next_run_at == T0 + 120 * SECOND


@pytest.mark.parametrize("existing", [False, True], ids=["first run creates the schedule", "later run advances it"])
def test_racing_tickers_enqueue_a_schedule_once(engine: Engine, existing: bool) -> None:
    now = T0
    if existing:
        _tick(engine, T0)
        now = T0 + 60 * SECOND
    before = count_jobs(engine)
    start = threading.Barrier(8)
    results: list[list[str]] = []

    def ticker() -> None:
        start.wait()
        results.append(_tick(engine, now))

    threads = [threading.Thread(target=ticker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 8
    assert sorted(results) == [[]] * 7 + [["test_every_minute"]]
    assert count_jobs(engine) == before + 1


def test_a_ticker_blocked_behind_another_sees_the_schedule_advanced(engine: Engine) -> None:
    _tick(engine, T0)
    now = T0 + 60 * SECOND
    second_result: list[list[str]] = []
    with transaction(engine) as first:
        assert schedules.tick(first, now, EVERY_MINUTE) == ["test_every_minute"]
        # the second ticker starts while the first has advanced the schedule but not committed
        second = threading.Thread(target=lambda: second_result.append(_tick(engine, now)))
        second.start()
        second.join(timeout=0.3)
    second.join(timeout=30)
    assert second_result == [[]]
    assert count_jobs(engine) == 2
