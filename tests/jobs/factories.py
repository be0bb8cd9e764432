"""Rows the job tests need, inserted with the models."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.models import Commission, Enrollment, Job, Partner
from tests.conftest import ProgramKeys


def make_partner(engine: Engine, program: ProgramKeys, email: str = "pat@example.com") -> str:
    with transaction(engine) as session:
        partner = Partner(workspace_id=program.workspace_id, email=email, name="Pat")
        session.add(partner)
        session.flush()
        session.add(
            Enrollment(
                program_id=program.id, partner_id=partner.id, status="approved", referral_code=f"pat{partner.id[-6:]}"
            )
        )
        return partner.id


def make_commission(engine: Engine, program: ProgramKeys, partner_id: str, *, status: str, hold_until: datetime) -> str:
    with transaction(engine) as session:
        commission = Commission(
            program_id=program.id,
            partner_id=partner_id,
            kind="sale",
            amount=10_000,
            currency="usd",
            earnings_amount=2_000,
            earnings_currency="usd",
            status=status,
            explanation="20% of 100.00 USD (test)",
            hold_until=hold_until,
        )
        session.add(commission)
        session.flush()
        return commission.id


def commission_statuses(engine: Engine) -> dict[str, tuple[str, datetime | None]]:
    with transaction(engine, writes=False) as session:
        rows = session.execute(select(Commission.id, Commission.status, Commission.status_changed_at)).all()
        return {row.id: (row.status, row.status_changed_at) for row in rows}


def get_job(engine: Engine, job_id: str) -> Job:
    with transaction(engine, writes=False) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def count_jobs(engine: Engine, **where: object) -> int:
    with transaction(engine, writes=False) as session:
        statement = select(func.count()).select_from(Job)
        for column, value in where.items():
            statement = statement.where(getattr(Job, column) == value)
        return int(session.execute(statement).scalar_one())
