"""Hold-period approval: pending commissions past hold_until become approved, nothing else changes."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.app import PartnerloopApp, create_app
from partnerloop.commission import tasks
from partnerloop.commission.tasks import approve_due
from partnerloop.db import transaction
from partnerloop.job_registry import SCHEDULES
from partnerloop.jobs import queue
from partnerloop.jobs.runner import run_next_job, work_batch
from partnerloop.kit.time import utc_now
from partnerloop.models import Enrollment, LedgerEntry, Program
from partnerloop.partner import service as partner_service
from partnerloop.partner.rules import BanCommissions, EnrollmentStatus
from tests.conftest import ProgramKeys, make_settings
from tests.jobs.factories import commission_statuses, count_jobs, get_job, make_commission, make_partner


def test_the_periodic_job_approves_pending_commissions_past_their_hold(engine: Engine, program: ProgramKeys) -> None:
    partner_id = make_partner(engine, program)
    now = utc_now()
    due = make_commission(engine, program, partner_id, status="pending", hold_until=now - timedelta(minutes=1))
    long_due = make_commission(engine, program, partner_id, status="pending", hold_until=now - timedelta(days=40))
    held = make_commission(engine, program, partner_id, status="pending", hold_until=now + timedelta(days=29))
    on_hold = make_commission(engine, program, partner_id, status="on_hold", hold_until=now - timedelta(days=1))
    rejected = make_commission(engine, program, partner_id, status="rejected", hold_until=now - timedelta(days=1))
    paid = make_commission(engine, program, partner_id, status="paid", hold_until=now - timedelta(days=90))

    ran = work_batch(
        engine, "test-worker", lambda: False, SCHEDULES
    )  # ticks the schedules, then runs what they enqueued

    assert ran >= 1
    assert count_jobs(engine, kind="approve_due_commissions", status="done") == 1
    statuses = commission_statuses(engine)
    assert {key: status for key, (status, _changed) in statuses.items()} == {
        due: "approved",
        long_due: "approved",
        held: "pending",
        on_hold: "on_hold",
        rejected: "rejected",
        paid: "paid",
    }
    changed_at = statuses[due][1]
    assert changed_at is not None
    assert now <= changed_at <= utc_now()
    assert statuses[held][1] is None


def test_a_commission_is_approved_at_the_exact_end_of_its_hold(engine: Engine, program: ProgramKeys) -> None:
    partner_id = make_partner(engine, program)
    end_of_hold = utc_now() + timedelta(days=30)
    commission_id = make_commission(engine, program, partner_id, status="pending", hold_until=end_of_hold)
    with transaction(engine) as session:
        assert approve_due(session, end_of_hold - timedelta(microseconds=1)) == 0
    assert commission_statuses(engine)[commission_id] == ("pending", None)
    with transaction(engine) as session:
        assert approve_due(session, end_of_hold) == 1
    assert commission_statuses(engine)[commission_id] == ("approved", end_of_hold)


def test_many_due_commissions_are_approved_in_batches_each_once(
    engine: Engine, program: ProgramKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A history with more due commissions than one transaction may approve (a million broke PostgreSQL's
    65,535 parameters): a batch per job, a full batch queues the next at once, each commission approved and
    posted to the ledger exactly once, the longest due first."""
    monkeypatch.setattr(tasks, "BATCH", 2)
    partner_id = make_partner(engine, program)
    now = utc_now()
    due = [make_commission(engine, program, partner_id, status="pending", hold_until=now - timedelta(days=day))
           for day in range(5, 0, -1)]  # fmt: skip
    with transaction(engine) as session:
        queue.enqueue(session, tasks.APPROVE_DUE_JOB)
    assert run_next_job(engine, "test-worker")
    statuses = commission_statuses(engine)
    assert [statuses[key][0] for key in due] == ["approved", "approved", "pending", "pending", "pending"]
    assert count_jobs(engine, kind=tasks.APPROVE_DUE_JOB, status="queued") == 1  # the next batch, due now
    while run_next_job(engine, "test-worker"):
        pass
    assert {commission_statuses(engine)[key][0] for key in due} == {"approved"}
    assert count_jobs(engine, kind=tasks.APPROVE_DUE_JOB, status="done") == 3  # 2 + 2 + 1: the last was not full
    with transaction(engine, writes=False) as session:
        entries = session.execute(select(LedgerEntry.commission_id).where(LedgerEntry.commission_id.in_(due))).scalars()
        assert sorted(entries) == sorted(due * 2)  # each move posts its pair of entries, once


def test_the_runner_inside_serve_approves_due_commissions_and_runs_jobs(
    engine: Engine, program: ProgramKeys, database_url: str
) -> None:
    app = create_app(make_settings(database_url, periodic_jobs=True))  # as serve runs: periodic jobs too
    partner_id = make_partner(engine, program)
    commission_id = make_commission(
        engine, program, partner_id, status="pending", hold_until=utc_now() - timedelta(seconds=1)
    )
    with transaction(engine) as session:
        job_id = str(queue.enqueue(session, "noop"))
    with TestClient(app):  # the lifespan starts the in-process runner; its first tick is due at once
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if commission_statuses(engine)[commission_id][0] == "approved" and get_job(engine, job_id).status == "done":
                break
            time.sleep(0.05)
    assert commission_statuses(engine)[commission_id][0] == "approved"
    assert get_job(engine, job_id).status == "done"


def test_stopping_serve_waits_for_the_job_in_hand(engine: Engine, app: PartnerloopApp) -> None:
    with TestClient(app):
        with transaction(engine) as session:
            job_id = str(queue.enqueue(session, "noop", {"sleep_ms": 700}))
        deadline = time.monotonic() + 10
        while get_job(engine, job_id).status != "running" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert get_job(engine, job_id).status == "running"
    # the lifespan has ended: the job finished instead of being abandoned mid-way
    job = get_job(engine, job_id)
    assert (job.status, job.attempts) == ("done", 1)


def _set_enrollment_status(engine: Engine, partner_id: str, status: EnrollmentStatus) -> None:
    """As if the partner's status had just changed, after their commission was made (the race a ban loses)."""
    with transaction(engine) as session:
        enrollment = session.execute(select(Enrollment).where(Enrollment.partner_id == partner_id)).scalar_one()
        enrollment.status = status.value


def test_the_job_approves_no_commission_of_a_partner_who_cannot_earn(engine: Engine, program: ProgramKeys) -> None:
    due = utc_now() - timedelta(days=1)
    earning = make_partner(engine, program, email="earning@example.com")
    kept = make_commission(engine, program, earning, status="pending", hold_until=due)
    blocked = {}
    for status in EnrollmentStatus:
        if status.can_earn:
            continue
        partner_id = make_partner(engine, program, email=f"{status.value}@example.com")
        blocked[make_commission(engine, program, partner_id, status="pending", hold_until=due)] = status
        _set_enrollment_status(engine, partner_id, status)
    assert set(blocked.values()) >= {EnrollmentStatus.BANNED, EnrollmentStatus.REJECTED, EnrollmentStatus.DEACTIVATED}

    with transaction(engine) as session:
        assert approve_due(session, utc_now()) == 1

    statuses = commission_statuses(engine)
    assert statuses[kept][0] == "approved"
    assert {commission_id: statuses[commission_id] for commission_id in blocked} == dict.fromkeys(
        blocked, ("pending", None)
    )


def test_a_reactivated_partner_has_their_due_commissions_approved_again(engine: Engine, program: ProgramKeys) -> None:
    partner_id = make_partner(engine, program)
    commission_id = make_commission(
        engine, program, partner_id, status="pending", hold_until=utc_now() - timedelta(days=1)
    )
    with transaction(engine) as session:
        partner_service.change_status(session, session.get_one(Program, program.id), partner_id, "deactivate")
    with transaction(engine) as session:
        assert approve_due(session, utc_now()) == 0

    with transaction(engine) as session:
        partner_service.change_status(session, session.get_one(Program, program.id), partner_id, "approve")
    with transaction(engine) as session:
        assert approve_due(session, utc_now()) == 1
    assert commission_statuses(engine)[commission_id][0] == "approved"


def test_the_job_waits_for_a_ban_in_flight_and_does_not_approve_what_it_did_not_settle(
    engine: Engine, program: ProgramKeys
) -> None:
    """A commission made after the ban read the partner's commissions, approved by the job while the
    ban is still uncommitted: the job waits for the ban, then sees a banned partner."""
    partner_id = make_partner(engine, program)
    commission_id = make_commission(
        engine, program, partner_id, status="pending", hold_until=utc_now() - timedelta(days=1)
    )
    approved: list[int] = []

    def run_the_job() -> None:
        with transaction(engine) as session:
            approved.append(approve_due(session, utc_now()))

    job = threading.Thread(target=run_the_job)
    with transaction(engine) as session:
        # The settlement saw none of the partner's commissions (this one came after it read them).
        partner_service.ban_partner(session, session.get_one(Program, program.id), partner_id,
                                    BanCommissions.REJECT, settle=lambda *_args, **_kwargs: 0, actor="test")  # fmt: skip
        job.start()
        job.join(timeout=0.5)
        assert job.is_alive()  # it waits for the ban's enrollment row
    job.join(timeout=10)

    assert approved == [0]
    assert commission_statuses(engine)[commission_id] == ("pending", None)
