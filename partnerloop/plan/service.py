"""Plans: create, read, change. Editing a plan never touches commissions already created
(each commission keeps a copy of the rule that priced it, and its ledger postings stand)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from partnerloop.kit.errors import InvalidInput, NotFound
from partnerloop.models import Plan, Program
from partnerloop.plan import repository
from partnerloop.plan.rules import PlanTerms
from partnerloop.plan.schemas import (
    Bonus,
    PlanIn,
    PlanOut,
    PlanPatch,
    Rule,
    parse_stored_bonuses,
    parse_stored_rules,
)
from partnerloop.plan.validation import plan_problems


class PlanNotFound(NotFound):
    pass


class InvalidPlan(InvalidInput):
    """The plan is well-formed JSON but the engine could not evaluate it; the detail names the rule."""


def plan_out(plan: Plan, program: Program) -> PlanOut:
    return PlanOut(
        id=plan.id,
        name=plan.name,
        rules=list(plan.rules),
        bonuses=list(plan.bonuses or []),
        is_default=program.default_plan_id == plan.id,
        created_at=plan.created_at,
    )


def plan_terms(plan: Plan) -> PlanTerms:
    """The plan as the commission engine takes it."""
    return PlanTerms(
        id=plan.id,
        name=plan.name,
        rules=tuple(parse_stored_rules(plan.rules)),
        bonuses=tuple(parse_stored_bonuses(plan.bonuses)),
    )


_TERMS_CACHE: dict[tuple[str, datetime], PlanTerms] = {}
_TERMS_CACHE_SIZE = 512
_terms_lock = threading.Lock()


def cached_plan_terms(plan: Plan) -> PlanTerms:
    """plan_terms, parsed once per version of the plan (its updated_at) in this process."""
    key = (plan.id, plan.updated_at)
    terms = _TERMS_CACHE.get(key)
    if terms is None:
        terms = plan_terms(plan)
        with _terms_lock:
            if len(_TERMS_CACHE) >= _TERMS_CACHE_SIZE:
                _TERMS_CACHE.clear()
            _TERMS_CACHE[key] = terms
    return terms


def check_plan(rules: Sequence[Rule], bonuses: Sequence[Bonus]) -> None:
    """Raise InvalidPlan with every problem, each naming its rule, when the engine could not evaluate it."""
    problems = plan_problems(rules, bonuses)
    if problems:
        raise InvalidPlan("; ".join(problems) + ".")


STARTER_PLAN = {  # a program created without a plan starts with this one, editable like any other
    "name": "Standard",
    "rules": [
        {
            "event": "sale",
            "reward": {"type": "percent", "rate_bps": 2000},
            "duration": {"kind": "months", "months": 12},
        },
    ],
}


def create_starter_plan(session: Session, program: Program) -> Plan:
    """20% of every payment for 12 months: the plan a new affiliate program starts with (the caller makes
    it the program's default)."""
    return create_plan(session, program, PlanIn.model_validate(STARTER_PLAN))


def create_plan(session: Session, program: Program, body: PlanIn) -> Plan:
    check_plan(body.rules, body.bonuses)
    plan = Plan(
        program_id=program.id,
        name=body.name,
        rules=[rule.stored() for rule in body.rules],
        bonuses=[bonus.stored() for bonus in body.bonuses],
    )
    session.add(plan)
    session.flush()
    return plan


def get_plan(session: Session, program: Program, plan_id: str) -> Plan:
    plan = repository.get_plan(session, program.id, plan_id)
    if plan is None:
        raise PlanNotFound(f"No plan {plan_id} in this program.")
    return plan


def find_plan(session: Session, program_id: str, plan_id: str) -> Plan | None:
    """The program's plan, or None (another program's plan is None too)."""
    return repository.get_plan(session, program_id, plan_id)


def plans_by_id(session: Session, plan_ids: set[str]) -> dict[str, Plan]:
    """The plans with these ids (of any program: the caller chose them from its enrollments), by id."""
    return repository.plans_by_id(session, plan_ids)


def plans_of(session: Session, program_id: str) -> list[Plan]:
    """Every plan of the program, oldest first."""
    return repository.plans_of(session, program_id)


def update_plan(session: Session, program: Program, plan_id: str, patch: PlanPatch) -> Plan:
    plan = get_plan(session, program, plan_id)
    rules = patch.rules if patch.rules is not None else parse_stored_rules(plan.rules)
    bonuses = patch.bonuses if patch.bonuses is not None else parse_stored_bonuses(plan.bonuses)
    check_plan(rules, bonuses)
    if patch.name is not None:
        plan.name = patch.name
    if patch.rules is not None:
        plan.rules = [rule.stored() for rule in patch.rules]
    if patch.bonuses is not None:
        plan.bonuses = [bonus.stored() for bonus in patch.bonuses]
    session.flush()
    return plan


def list_plans(session: Session, program: Program, *, cursor: str | None, limit: int) -> tuple[list[Plan], str | None]:
    return repository.list_plans(session, program.id, cursor, limit)
