"""Commissions: list them, approve / hold / reject them, make manual ones and clawbacks, and settle
them by payouts. Every creation and status change posts to the ledger in the same transaction.

For payouts, the only way a payout changes commissions: `mark_paid(session, program_id=…, run_id=…,
commission_ids=<SELECT of ids>, actor=…)` settles a run's commissions (status `paid` + one ledger
posting per payout); `mark_payout_failed(session, program_id=…, payout_id=…, commission_ids=…, actor=…)`
makes a failed or canceled payout's commissions approved again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select
from sqlalchemy.orm import Session

from partnerloop.commission import repository
from partnerloop.commission.earning import (
    PartnerContext,
    earn,
    hold_until,
    partner_context,
    plan_for,
)
from partnerloop.commission.events import announce_approved, announce_created
from partnerloop.commission.rules import (
    CommissionKind,
    CommissionStatus,
    RefundPlan,
    UnpaidCommission,
    approval_hold_until,
    ban_moves,
    clawback_plan,
    next_status,
    reversal_due,
    reversal_explanation,
    reversal_status,
    reverses_fully,
)
from partnerloop.commission.schemas import ClawbackIn, CommissionOut, ManualCommissionIn
from partnerloop.kit.errors import Conflict, InvalidInput, NotFound
from partnerloop.kit.money import format_money, normalize_currency
from partnerloop.kit.time import utc_now
from partnerloop.ledger import service as ledger
from partnerloop.models import Commission, Enrollment, Event, Program
from partnerloop.partner import service as partner_service
from partnerloop.partner.rules import BanCommissions
from partnerloop.plan import service as plan_service
from partnerloop.plan.rules import PlanTerms
from partnerloop.plan.service import cached_plan_terms

__all__ = [
    "PartnerContext",
    "earn",
    "hold_until",
]


class CommissionNotFound(NotFound):
    pass


class StatusChangeNotAllowed(Conflict):
    pass


class ReversalFollowsItsCommission(Conflict):
    pass


class UnknownStatus(InvalidInput):
    pass


class PartnerNotEnrolled(NotFound):
    pass


class ClawbackNotAllowed(Conflict):
    pass


class PaymentNotAllowed(Conflict):
    pass


def partner_plan(session: Session, program: Program, enrollment: Enrollment | None) -> PlanTerms | None:
    """The plan pricing the partner's commissions: their own, else their group's, else the program's default."""
    if enrollment is None:
        plan = plan_service.find_plan(session, program.id, program.default_plan_id) if program.default_plan_id else None
        return None if plan is None else cached_plan_terms(plan)
    return plan_for(session, program, partner_context(session, program, enrollment))


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
        program_amount=commission.program_amount,
        fx_rate=commission.fx_rate,
        earnings_amount=commission.earnings_amount,
        earnings_currency=commission.earnings_currency,
        status=commission.status,
        explanation=commission.explanation,
        explanation_data=commission.explanation_data,
        reverses_id=commission.reverses_id or None,
        plan_id=commission.plan_id,
        rule_index=commission.rule_index,
        rule=commission.rule,
        trigger_event_id=commission.trigger_event_id,
        reason=commission.reason,
        created_by=commission.created_by,
        occurred_at=commission.occurred_at,
        hold_until=commission.hold_until,
        created_at=commission.created_at,
        status_changed_at=commission.status_changed_at,
    )


def get_commission(session: Session, program: Program, commission_id: str, *, lock: bool = False) -> Commission:
    commission = repository.get_commission(session, program.id, commission_id, lock=lock)
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


def _move(session: Session, commissions: list[tuple[Commission, str]], actor: str) -> None:
    """Post the ledger moves of commissions whose status was just changed from the given one."""
    ledger.post_status_changes(session, [ledger.change_of(row, old) for row, old in commissions], actor=actor)


def change_status(
    session: Session, program: Program, commission_id: str, action: str, *, actor: str = ledger.SYSTEM
) -> Commission:
    """approve | hold | reject a commission; its unpaid reversals and clawbacks follow it."""
    commission = get_commission(session, program, commission_id, lock=True)
    if CommissionKind(commission.kind).follows_original:
        raise ReversalFollowsItsCommission(
            f"Commission {commission_id} reverses {commission.reverses_id}: act on that commission instead."
        )
    current = CommissionStatus(commission.status)
    target = next_status(current, action)
    if target is None:
        raise StatusChangeNotAllowed(f"A commission that is {current.value} cannot be asked to {action}.")
    now = utc_now()
    moved = [(commission, commission.status)]
    commission.status = target.value
    commission.status_changed_at = now
    for reversal in repository.reversals_of(session, commission):
        if reversal.status != CommissionStatus.PAID:
            moved.append((reversal, reversal.status))
            reversal.status = reversal_status(target).value
            reversal.status_changed_at = now
    if target is CommissionStatus.APPROVED:
        for row, _old in moved:
            _end_hold(row, now, actor)
    _move(session, moved, actor)
    session.flush()
    if target is CommissionStatus.APPROVED:
        announce_approved(session, [commission])
    return commission


def end_dispute_hold(
    session: Session, program: Program, commission_id: str, before: CommissionStatus, *, actor: str
) -> None:
    """A closed dispute gives a commission it held back the status it had before (approved or
    pending), with its unpaid reversals; one a person moved off hold meanwhile stays as it is."""
    commission = repository.get_commission(session, program.id, commission_id, lock=True)
    if commission is None or commission.status != CommissionStatus.ON_HOLD:
        return
    if before is CommissionStatus.APPROVED:
        change_status(session, program, commission_id, "approve", actor=actor)
        return
    # No API action returns a commission to pending; this is the same move, posted the same way.
    now = utc_now()
    moved = [(commission, commission.status)]
    commission.status = CommissionStatus.PENDING.value
    commission.status_changed_at = now
    for reversal in repository.reversals_of(session, commission):
        if reversal.status == CommissionStatus.ON_HOLD:
            moved.append((reversal, reversal.status))
            reversal.status = CommissionStatus.PENDING.value
            reversal.status_changed_at = now
    changes = [ledger.change_of(row, old) for row, old in moved]
    ledger.post_status_changes(session, changes, actor=actor, memo="dispute closed")


def hold_for_alert(
    session: Session, program: Program, commissions: list[Commission], alert: str, *, actor: str
) -> list[Commission]:
    """A fraud alert on the conversion holds its pending commissions (on_hold stays out of payouts until a
    manager approves or rejects it), naming the alert in the explanation. Returns those it held."""
    held = []
    for commission in commissions:
        if commission.status != CommissionStatus.PENDING or CommissionKind(commission.kind).follows_original:
            continue
        change_status(session, program, commission.id, "hold", actor=actor)
        commission.explanation = f"{commission.explanation} — on hold: {alert}"[:1000]
        commission.explanation_data = {**(commission.explanation_data or {}), "held_by_alert": alert}
        held.append(commission)
    session.flush()
    return held


def _end_hold(commission: Commission, now: datetime, actor: str) -> None:
    """A manager's approval ends the hold: payable from now (as the balance shows it), recorded in the
    explanation data."""
    ended = approval_hold_until(commission.hold_until, now)
    if ended == commission.hold_until:
        return
    commission.explanation_data = {
        **(commission.explanation_data or {}),
        "hold_ended": {"by": actor, "at": now.isoformat(), "hold_until_was": commission.hold_until.isoformat()},
    }
    commission.hold_until = ended


def create_manual_commission(session: Session, program: Program, body: ManualCommissionIn, *, actor: str) -> Commission:
    """A commission made by a person, with a reason (a negative amount is a clawback), approved unless
    asked to be pending."""
    currency = normalize_currency(body.currency) if body.currency else program.currency
    if partner_service.enrollment_of(session, program.id, body.partner_id) is None:
        raise PartnerNotEnrolled(f"No partner {body.partner_id} in this program.")
    now = utc_now()
    what = "Manual commission" if body.amount > 0 else "Clawback"
    commission = Commission(
        program_id=program.id,
        partner_id=body.partner_id,
        kind=CommissionKind.MANUAL.value,
        reverses_id="",
        amount=0,
        currency=currency,
        earnings_amount=body.amount,
        earnings_currency=currency,
        status=body.status,
        explanation=f"{what} of {format_money(body.amount, currency)} by {actor}: {body.reason}"[:1000],
        explanation_data={
            "kind": "manual",
            "amount": body.amount,
            "currency": currency,
            "reason": body.reason,
            "actor": actor,
        },
        reason=body.reason,
        created_by=actor,
        occurred_at=now,
        hold_until=now if body.status == CommissionStatus.APPROVED.value else hold_until(program, now),
        status_changed_at=now,
    )
    session.add(commission)
    session.flush()
    ledger.post_commission_created(session, commission, actor=actor)
    announce_created(session, [commission])
    return commission


def claw_back(session: Session, program: Program, commission_id: str, body: ClawbackIn, *, actor: str) -> Commission:
    """Take back (part of) a commission: a negative `clawback` commission that follows the original's
    status (approved when it was paid: the next payout nets it). An unpaid commission clawed back
    in full becomes reversed."""
    original = get_commission(session, program, commission_id, lock=True)
    kind = CommissionKind(original.kind)
    status = CommissionStatus(original.status)
    if not kind.can_be_clawed_back or original.earnings_amount <= 0:
        raise ClawbackNotAllowed(f"Commission {commission_id} is a {kind.value} of {original.earnings_amount}: "
                                 "only positive earnings can be clawed back.")  # fmt: skip
    if not status.is_owed:
        raise ClawbackNotAllowed(f"Commission {commission_id} is {status.value}: nothing is owed to claw back.")
    currency = original.earnings_currency
    taken = repository.taken_back(session, [original.id]).get(original.id, 0)
    decided = clawback_plan(body.amount, original.earnings_amount, taken, currency)
    if isinstance(decided, str):
        raise ClawbackNotAllowed(decided)
    now = utc_now()
    clawback = Commission(
        program_id=program.id,
        partner_id=original.partner_id,
        customer_id=original.customer_id,
        click_id=original.click_id,
        kind=CommissionKind.CLAWBACK.value,
        reverses_id=original.id,
        amount=0,
        currency=currency,
        earnings_amount=-decided,
        earnings_currency=currency,
        status=reversal_status(status).value,
        plan_id=original.plan_id,
        rule_index=original.rule_index,
        rule=original.rule,
        explanation=(
            f"Clawback of {format_money(decided, currency)} of {format_money(original.earnings_amount, currency)} "
            f"(commission {original.id}) by {actor}: {body.reason}"
        )[:1000],
        explanation_data={
            "kind": "clawback",
            "reverses_id": original.id,
            "amount": decided,
            "earnings_amount": original.earnings_amount,
            "taken_back_before": taken,
            "reason": body.reason,
            "actor": actor,
        },
        reason=body.reason,
        created_by=actor,
        occurred_at=now,
        hold_until=original.hold_until,
        status_changed_at=now,
    )
    session.add(clawback)
    session.flush()
    ledger.post_commission_created(session, clawback, actor=actor)
    announce_created(session, [clawback])
    close_if_fully_reversed(session, original, taken + decided, actor=actor)
    session.flush()
    return clawback


def close_if_fully_reversed(session: Session, original: Commission, taken_back: int, *, actor: str) -> bool:
    """An unpaid commission whose earnings are all taken back becomes reversed with its reversals."""
    if not reverses_fully(original.earnings_amount, taken_back, CommissionStatus(original.status)):
        return False
    now = utc_now()
    moved = [(original, original.status)]
    original.status = CommissionStatus.REVERSED.value
    original.status_changed_at = now
    for reversal in repository.reversals_of(session, original):
        if reversal.status != CommissionStatus.REVERSED:
            moved.append((reversal, reversal.status))
            reversal.status = CommissionStatus.REVERSED.value
            reversal.status_changed_at = now
    _move(session, moved, actor)
    return True


def mark_paid(
    session: Session, *, program_id: str, run_id: str, commission_ids: Select[str], actor: str = ledger.SYSTEM
) -> int:
    """A confirmed payout run (a retry is a run of one payout) settles its commissions: those among
    `commission_ids` (a SELECT, so a run of any size is one UPDATE) go approved -> paid, and the ledger
    records each payout of the run once (approved -> paid, its source amount). How many were settled."""
    settled = repository.mark_paid(session, program_id, commission_ids, utc_now())
    ledger.post_run_payouts(session, program_id=program_id, run_id=run_id, actor=actor)
    return settled


def mark_payout_failed(
    session: Session, *, program_id: str, payout_id: str, commission_ids: Select[str], actor: str = ledger.SYSTEM
) -> int:
    """A failed or canceled payout lets go of its commissions (a SELECT of their ids): paid -> approved,
    payable again, and the ledger undoes the payout's posting (paid -> approved). How many were released."""
    ledger.post_payout_failed(session, payout_id=payout_id, program_id=program_id, actor=actor)
    return repository.release_paid(session, program_id, commission_ids, utc_now())


def settle_for_ban(
    session: Session, program: Program, partner_id: str, choice: BanCommissions, *, actor: str = ledger.SYSTEM
) -> int:
    """A banned partner's unpaid commissions, as `ban_moves` decides: pending and on-hold ones rejected
    or held (the manager's `choice`), approved ones held, paid ones untouched; reversals and clawbacks
    follow their original. One locked read, batched updates, one ledger insert; returns how many moved."""
    rows = repository.unpaid_commissions_of(session, program.id, partner_id)
    facts = [
        UnpaidCommission(
            id=row.id,
            kind=CommissionKind(row.kind),
            status=CommissionStatus(row.status),
            earnings_amount=row.earnings_amount,
            reverses_id=row.reverses_id,
        )
        for row in rows
    ]
    moves = ban_moves(facts, choice)
    now = utc_now()
    changes: list[ledger.StatusChange] = []
    for row in rows:
        target = moves.get(row.id)
        if target is None:
            continue
        old_status = row.status
        row.status = target.value
        row.status_changed_at = now
        changes.append(ledger.change_of(row, old_status))
    ledger.post_status_changes(session, changes, actor=actor, memo=f"partner banned ({choice.value} commissions)")
    session.flush()
    return len(changes)


def commissions_of_event(session: Session, event_id: str) -> list[Commission]:
    """The commissions an event (lead, sale, refund) earned or reversed."""
    return repository.commissions_of_event(session, event_id)


def reverse_for_refund(session: Session, sale: Event, refund: Event, plan: RefundPlan) -> None:
    """Each owed commission of the sale gets a reversal, proportional to what is refunded in total
    (never more than what clawbacks left). Bonuses the sale triggered stand."""
    sale_amount = sale.amount or 0
    reversed_before = repository.reversed_by_original(session, sale.id)
    sale_commissions = [
        row.id for row in repository.commissions_of_event(session, sale.id) if row.kind == CommissionKind.SALE
    ]
    # Locked: an approval or clawback of the same commission waits, so reversals and status agree.
    originals = repository.lock_commissions(session, sale.program_id, sale_commissions)
    taken = repository.taken_back(session, [row.id for row in originals])
    for original in originals:
        status = CommissionStatus(original.status)
        if not status.is_owed:
            continue
        already = reversed_before.get(original.id, 0)
        due = reversal_due(original.earnings_amount, sale_amount, plan.refunded_total, already)
        due = min(due, original.earnings_amount - taken.get(original.id, 0))
        if due <= 0:
            continue
        reversal = repository.insert_commission(
            session,
            {
                "program_id": original.program_id,
                "partner_id": original.partner_id,
                "customer_id": original.customer_id,
                "event_id": refund.id,
                "click_id": original.click_id,
                "kind": CommissionKind.REVERSAL.value,
                "reverses_id": original.id,
                "amount": -plan.amount,
                "currency": sale.currency,
                "earnings_amount": -due,
                "earnings_currency": original.earnings_currency,
                "status": reversal_status(status).value,
                "plan_id": original.plan_id,
                "rule_index": original.rule_index,
                "rule": original.rule,
                "explanation": reversal_explanation(
                    plan.amount,
                    sale_amount,
                    sale.currency or "",
                    sale.invoice_id or "",
                    due,
                    original.earnings_amount,
                    original.earnings_currency,
                ),
                "hold_until": original.hold_until,  # approved together with the original
                "occurred_at": refund.occurred_at,
                "program_amount": -(refund.program_amount or 0),
                "fx_rate": original.fx_rate,
                "explanation_data": {
                    "kind": "reversal",
                    "reverses_id": original.id,
                    "refund_amount": plan.amount,
                    "refunded_total": plan.refunded_total,
                    "sale_amount": sale_amount,
                    "currency": sale.currency,
                    "earnings_amount": original.earnings_amount,
                    "reversed_before": already,
                    "arithmetic": f"{original.earnings_amount} × {plan.refunded_total} ÷ {sale_amount} rounded, "
                    f"less {already} reversed before = {due}",
                },
            },
        )
        if reversal is None:
            continue
        ledger.post_commission_created(session, reversal, actor="tracking")
        announce_created(session, [reversal])
        close_if_fully_reversed(session, original, taken.get(original.id, 0) + due, actor="tracking")
