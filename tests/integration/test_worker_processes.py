"""Real `partnerloop worker` processes: jobs run exactly once across workers, SIGTERM stops cleanly."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.jobs import queue
from partnerloop.kit.time import utc_now
from partnerloop.models import Job
from tests.conftest import ProgramKeys
from tests.jobs.factories import commission_statuses, count_jobs, get_job, make_commission, make_partner
from tests.jobs.processes import worker_process

pytestmark = pytest.mark.slow


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_two_workers_on_postgres_run_every_job_exactly_once(
    is_postgres: bool, database_url: str, engine: Engine
) -> None:
    if not is_postgres:
        pytest.skip("several workers claiming with SKIP LOCKED is the PostgreSQL deployment")
    with worker_process(database_url) as first, worker_process(database_url) as second:
        with transaction(engine) as session:
            for n in range(300):
                queue.enqueue(session, "noop", {"n": n, "sleep_ms": 5})
        _wait_until(lambda: count_jobs(engine, kind="noop", status="done") == 300, 20, "300 noop jobs done")
        assert first.terminate() == 0, first.output
        assert second.terminate() == 0, second.output
    with transaction(engine, writes=False) as session:
        jobs = session.execute(select(Job.status, Job.attempts, Job.locked_by).where(Job.kind == "noop")).all()
    assert len(jobs) == 300
    assert {(status, attempts) for status, attempts, _worker in jobs} == {("done", 1)}
    # both took part (SKIP LOCKED lets them claim side by side), each recorded as hostname:pid
    pids = {str(worker).rsplit(":", 1)[1] for _status, _attempts, worker in jobs}
    assert pids == {str(first.popen.pid), str(second.popen.pid)}
    assert "stopped" in first.output
    assert "stopped" in second.output


def test_sigterm_lets_a_worker_finish_the_job_in_hand_and_exit_0(database_url: str, engine: Engine) -> None:
    with worker_process(database_url) as worker:
        with transaction(engine) as session:
            job_id = str(queue.enqueue(session, "noop", {"sleep_ms": 1500}))
        _wait_until(lambda: get_job(engine, job_id).status == "running", 10, "the job to start")
        assert worker.terminate() == 0, worker.output
    job = get_job(engine, job_id)
    assert (job.status, job.attempts) == ("done", 1)


def test_a_worker_approves_a_commission_whose_hold_has_passed(
    database_url: str, engine: Engine, program: ProgramKeys
) -> None:
    partner_id = make_partner(engine, program)
    due = make_commission(engine, program, partner_id, status="pending", hold_until=utc_now() - timedelta(hours=1))
    held = make_commission(engine, program, partner_id, status="pending", hold_until=utc_now() + timedelta(days=1))
    with worker_process(database_url) as worker:
        _wait_until(lambda: commission_statuses(engine)[due][0] == "approved", 15, "the commission's approval")
        assert worker.terminate() == 0, worker.output
    assert commission_statuses(engine)[held][0] == "pending"
