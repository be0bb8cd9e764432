"""The built-in housekeeping jobs, run through the queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.jobs import queue
from partnerloop.jobs.runner import run_next_job
from partnerloop.kit.time import utc_now
from partnerloop.models import IdempotencyKey, Job
from tests.conftest import ProgramKeys


def _run(engine: Engine, kind: str) -> None:
    with transaction(engine) as session:
        job_id = queue.enqueue(session, kind)
    assert run_next_job(engine, "w1")
    with transaction(engine, writes=False) as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.status == "done", job.last_error


def test_idempotency_keys_are_swept_after_24_hours(engine: Engine, program: ProgramKeys) -> None:
    now = utc_now()
    with transaction(engine) as session:
        for key, age in (("old", timedelta(hours=25)), ("recent", timedelta(hours=23))):
            session.add(
                IdempotencyKey(
                    program_id=program.id,
                    key=key,
                    request_hash="h",
                    status_code=201,
                    response_body="{}",
                    created_at=now - age,
                )
            )
    _run(engine, "sweep_idempotency_keys")
    with transaction(engine, writes=False) as session:
        assert session.execute(select(IdempotencyKey.key)).scalars().all() == ["recent"]


def test_done_jobs_are_swept_after_a_week_but_dead_and_unique_ones_stay(engine: Engine) -> None:
    long_ago = utc_now() - timedelta(days=8)
    with transaction(engine) as session:
        for name, status, unique_key, finished_at in (
            ("old done", "done", None, long_ago),
            ("old unique", "done", "once:1", long_ago),
            ("old dead", "dead", None, long_ago),
            ("recent done", "done", None, utc_now() - timedelta(days=6)),
        ):
            session.add(
                Job(
                    kind="noop",
                    payload={"name": name},
                    status=status,
                    unique_key=unique_key,
                    run_at=long_ago,
                    finished_at=finished_at,
                    attempts=1,
                )
            )
    _run(engine, "sweep_finished_jobs")
    with transaction(engine, writes=False) as session:
        names = {job.payload.get("name") for job in session.execute(select(Job)).scalars()}
    assert names == {"old unique", "old dead", "recent done", None}  # None: the sweep job itself
