"""Plans, always through the program's scope."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.kit.pagination import page_of, paginate
from partnerloop.models import Plan


def get_plan(session: Session, program_id: str, plan_id: str) -> Plan | None:
    return session.execute(select(Plan).where(Plan.id == plan_id, Plan.program_id == program_id)).scalar_one_or_none()


def plans_by_id(session: Session, plan_ids: set[str]) -> dict[str, Plan]:
    if not plan_ids:
        return {}
    return {plan.id: plan for plan in session.execute(select(Plan).where(Plan.id.in_(plan_ids))).scalars()}


def list_plans(session: Session, program_id: str, cursor: str | None, limit: int) -> tuple[list[Plan], str | None]:
    statement = select(Plan).where(Plan.program_id == program_id)
    rows = list(session.execute(paginate(statement, Plan.id, cursor, limit)).scalars())
    return page_of(rows, limit, lambda plan: plan.id)
