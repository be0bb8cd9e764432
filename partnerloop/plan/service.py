"""Plans: create, read, change. Editing a plan never touches commissions already created
(each commission keeps a copy of the rule that priced it)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from partnerloop.kit.errors import NotFound
from partnerloop.models import Plan, Program
from partnerloop.plan import repository
from partnerloop.plan.rules import PlanTerms
from partnerloop.plan.schemas import PlanIn, PlanOut, PlanPatch, parse_stored_rules


class PlanNotFound(NotFound):
    pass


def plan_out(plan: Plan, program: Program) -> PlanOut:
    return PlanOut(
        id=plan.id,
        name=plan.name,
        rules=parse_stored_rules(plan.rules),
        is_default=program.default_plan_id == plan.id,
        created_at=plan.created_at,
    )


def plan_terms(plan: Plan) -> PlanTerms:
    """The plan as the commission engine takes it."""
    return PlanTerms(id=plan.id, name=plan.name, rules=tuple(parse_stored_rules(plan.rules)))


def create_plan(session: Session, program: Program, body: PlanIn) -> Plan:
    plan = Plan(program_id=program.id, name=body.name, rules=[rule.stored() for rule in body.rules])
    session.add(plan)
    session.flush()
    return plan


def get_plan(session: Session, program: Program, plan_id: str) -> Plan:
    plan = repository.get_plan(session, program.id, plan_id)
    if plan is None:
        raise PlanNotFound(f"No plan {plan_id} in this program.")
    return plan


def update_plan(session: Session, program: Program, plan_id: str, patch: PlanPatch) -> Plan:
    plan = get_plan(session, program, plan_id)
    if patch.name is not None:
        plan.name = patch.name
    if patch.rules is not None:
        plan.rules = [rule.stored() for rule in patch.rules]
    session.flush()
    return plan


def list_plans(session: Session, program: Program, *, cursor: str | None, limit: int) -> tuple[list[Plan], str | None]:
    return repository.list_plans(session, program.id, cursor, limit)
