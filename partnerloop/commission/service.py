"""Commissions: price and record them, list them, approve / hold / reject them, and pay for clicks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from partnerloop.commission import repository
from partnerloop.commission.rules import CommissionKind, CommissionStatus, next_status, reversal_status
from partnerloop.commission.schemas import CommissionOut
from partnerloop.kit.errors import Conflict, InvalidInput, NotFound
from partnerloop.kit.time import utc_now
from partnerloop.models import Commission, Enrollment, Program
from partnerloop.partner.rules import EnrollmentStatus
from partnerloop.plan import repository as plan_repository
from partnerloop.plan.rules import Earnings, EventFacts, PlanTerms, choose_plan_id, compute_earnings
from partnerloop.plan.service import plan_terms


class CommissionNotFound(NotFound):
    pass


class StatusChangeNotAllowed(Conflict):
    pass


class ReversalFollowsItsCommission(Conflict):
    pass


class UnknownStatus(InvalidInput):
    pass


def commission_out(commission: Commission) -> CommissionOut:
    return CommissionOut(
        id=commission.id,
        partner_id=commission.partner_id,
        customer_id=commission.customer_id,
        event_id=commission.event_id,
        click_id=commission.click_id,
        kind=commission.kind,
        amount=commission.amount,
        currency=commission.currency,
        earnings_amount=commission.earnings_amount,
        earnings_currency=commission.earnings_currency,
        status=commission.status,
        explanation=commission.explanation,
        reverses_id=commission.reverses_id or None,
        plan_id=commission.plan_id,
        rule_index=commission.rule_index,
        rule=commission.rule,
        hold_until=commission.hold_until,
        created_at=commission.created_at,
        status_changed_at=commission.status_changed_at,
    )


def hold_until(program: Program, occurred_at: datetime) -> datetime:
    return occurred_at + timedelta(days=program.hold_days)


def partner_plan(session: Session, program: Program, enrollment: Enrollment | None) -> PlanTerms | None:
    """The enrollment's plan, else the program's default plan, else none."""
    plan_id = choose_plan_id(enrollment.plan_id if enrollment else None, program.default_plan_id)
    if plan_id is None:
        return None
    plan = plan_repository.get_plan(session, program.id, plan_id)
    return None if plan is None else plan_terms(plan)


def earn(
    session: Session,
    program: Program,
    *,
    enrollment: Enrollment,
    facts: EventFacts,
    event_id: str,
    customer_id: str,
    click_id: str | None,
) -> list[Commission] | str:
    """Price the event under the enrollment's plan and record a pending commission.

    Returns the event's commissions, or the sentence saying why there is none.
    """
    plan = partner_plan(session, program, enrollment)
    priced = compute_earnings(plan, facts, program.currency)
    if not isinstance(priced, Earnings):
        return priced.reason
    assert plan is not None  # compute_earnings earns nothing without a plan
    created = repository.insert_commission(
        session,
        {
            "program_id": program.id,
            "partner_id": enrollment.partner_id,
            "customer_id": customer_id,
            "event_id": event_id,
            "click_id": click_id,
            "kind": facts.kind,
            "reverses_id": "",
            "amount": facts.amount,
            "currency": facts.currency or program.currency,
            "earnings_amount": priced.earnings_amount,
            "earnings_currency": priced.earnings_currency,
            "status": CommissionStatus.PENDING.value,
            "plan_id": plan.id,
            "rule_index": priced.rule_index,
            "rule": priced.rule,
            "explanation": priced.explanation,
            "hold_until": hold_until(program, facts.occurred_at),
        },
    )
    return [created] if created is not None else repository.commissions_of_event(session, event_id)


def get_commission(session: Session, program: Program, commission_id: str) -> Commission:
    commission = repository.get_commission(session, program.id, commission_id)
    if commission is None:
        raise CommissionNotFound(f"No commission {commission_id} in this program.")
    return commission


def list_commissions(
    session: Session,
    program: Program,
    *,
    partner_id: str | None,
    status: str | None,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Commission], str | None]:
    if status is not None and status not in CommissionStatus.__members__.values():
        allowed = ", ".join(CommissionStatus)
        raise UnknownStatus(f"status must be one of {allowed}.")
    if kind is not None and kind not in CommissionKind.__members__.values():
        raise InvalidInput(f"kind must be one of {', '.join(CommissionKind)}.")
    return repository.list_commissions(
        session, program.id, partner_id=partner_id, status=status, kind=kind, cursor=cursor, limit=limit
    )


def change_status(session: Session, program: Program, commission_id: str, action: str) -> Commission:
    """approve | hold | reject a commission; its unpaid reversals follow it."""
    commission = get_commission(session, program, commission_id)
    if commission.kind == CommissionKind.REVERSAL:
        raise ReversalFollowsItsCommission(
            f"Commission {commission_id} reverses {commission.reverses_id}: act on that commission instead."
        )
    current = CommissionStatus(commission.status)
    target = next_status(current, action)
    if target is None:
        raise StatusChangeNotAllowed(f"A commission that is {current.value} cannot be asked to {action}.")
    now = utc_now()
    commission.status = target.value
    commission.status_changed_at = now
    for reversal in repository.reversals_of(session, commission):
        if reversal.status != CommissionStatus.PAID:
            reversal.status = reversal_status(target).value
            reversal.status_changed_at = now
    session.flush()
    return commission


class ClickFacts(Protocol):
    """What click commissions need of a flushed click row."""

    @property
    def id(self) -> str: ...
    @property
    def program_id(self) -> str: ...
    @property
    def partner_id(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


def create_click_commissions(session: Session, clicks: Sequence[ClickFacts]) -> int:
    """One pending flat commission per (non-bot) click whose partner's plan has a click rule.

    The commission's id is the click's id, so flushing the same click twice pays it once.
    Returns how many commissions were priced (rows already present are skipped by the insert).
    """
    clicks = [click for click in clicks if not getattr(click, "is_bot", False)]
    if not clicks:
        return 0
    programs = repository.programs_by_id(session, {click.program_id for click in clicks})
    enrollments = repository.enrollments_for(session, {(click.program_id, click.partner_id) for click in clicks})
    plan_ids = {
        plan_id
        for (program_id, _), enrollment in enrollments.items()
        if (plan_id := choose_plan_id(enrollment.plan_id, programs[program_id].default_plan_id))
    }
    plans = {plan_id: plan_terms(plan) for plan_id, plan in plan_repository.plans_by_id(session, plan_ids).items()}
    now = utc_now()
    rows = []
    for click in clicks:
        program = programs.get(click.program_id)
        enrollment = enrollments.get((click.program_id, click.partner_id))
        if program is None or enrollment is None or not EnrollmentStatus(enrollment.status).can_earn:
            continue
        plan_id = choose_plan_id(enrollment.plan_id, program.default_plan_id)
        plan = plans.get(plan_id) if plan_id else None
        if plan is None or not any(rule.event == "click" for rule in plan.rules):
            continue
        priced = compute_earnings(plan, EventFacts("click", click.created_at), program.currency)
        if not isinstance(priced, Earnings):
            continue
        rows.append(
            {
                "id": click.id,
                "program_id": program.id,
                "partner_id": click.partner_id,
                "customer_id": None,
                "event_id": None,
                "click_id": click.id,
                "kind": CommissionKind.CLICK.value,
                "reverses_id": "",
                "amount": 0,
                "currency": program.currency,
                "earnings_amount": priced.earnings_amount,
                "earnings_currency": priced.earnings_currency,
                "status": CommissionStatus.PENDING.value,
                "plan_id": plan_id,
                "rule_index": priced.rule_index,
                "rule": priced.rule,
                "explanation": priced.explanation,
                "hold_until": hold_until(program, click.created_at),
                "created_at": now,
                "status_changed_at": None,
            }
        )
    repository.insert_commissions_by_id(session, rows)
    return len(rows)
