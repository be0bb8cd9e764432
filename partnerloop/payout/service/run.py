"""Payout runs (preview, confirm), and a payout's life after: sent, paid, failed (commissions back to
the partner's available balance), canceled, retried.

What a run pays: the commissions `commission.rules.is_payable_at` its cutoff (approved, hold ended; a
manager's approval ends the hold), priced from the ledger (their postings on the approved account), so
a run at now pays exactly the balance's available amount.

One settlement path, used by a run's confirm and by a retry (a run of one payout): payout items are
claimed set-based, then `commission.service.mark_paid` sets the commissions `paid` and the ledger
records each payout once (approved -> paid). One release path, used by fail and cancel:
`commission.service.mark_payout_failed` (approved again, the posting undone). So a commission is never
in two payouts and never lost between them, and only the commission domain writes commissions.

Delivery: a payout goes by API only when its method's provider is configured at the run; otherwise it
waits for a CSV export and mark-paid, and is never sent by API later.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from partnerloop.commission import service as commission_service
from partnerloop.config import Settings
from partnerloop.fx import service as fx_service
from partnerloop.fx.rules import convert
from partnerloop.kit.errors import Conflict, InvalidInput, NotFound
from partnerloop.kit.ids import new_id
from partnerloop.kit.money import email_money
from partnerloop.kit.time import as_utc, utc_now
from partnerloop.ledger import service as ledger
from partnerloop.models import Payout, PayoutMethod, PayoutRun, Program
from partnerloop.partner.rules import EnrollmentStatus
from partnerloop.payout import repository
from partnerloop.payout.rules import Decision, Delivery, MethodType, PayoutStatus, decide, delivery_for
from partnerloop.payout.schemas import PayoutOut, RunOut, SkippedOut
from partnerloop.payout.service.methods import method_problem, payout_settings, provider_configured
from partnerloop.webhook.service import emit

log = logging.getLogger("partnerloop.payout")

SEND_JOB = "payout_send"


class RunAlreadyConfirmed(Conflict):
    pass


class NothingToPay(Conflict):
    pass


class PayoutNotFound(NotFound):
    pass


class RunNotFound(NotFound):
    pass


class PayoutStateConflict(Conflict):
    pass


class InvalidRun(InvalidInput):
    pass


def checkpoint(step: str) -> None:
    """Fault-injection point for the crash tests: with PARTNERLOOP_PAYOUT_PAUSE_AT=<step>, announce the
    step on stderr and wait there so the test can SIGKILL the process at exactly this step."""
    if os.environ.get("PARTNERLOOP_PAYOUT_PAUSE_AT") == step:
        print(f"payout checkpoint {step}", file=sys.stderr, flush=True)
        time.sleep(120)


@dataclass(frozen=True)
class PlannedPayout:
    decision: Decision
    method: PayoutMethod
    amount: int
    currency: str
    fx_rate: str | None
    commission_count: int
    delivery: Delivery


def payout_out(payout: Payout) -> PayoutOut:
    return PayoutOut(
        id=payout.id,
        partner_id=payout.partner_id,
        amount=payout.amount,
        currency=payout.currency,
        status=payout.status,
        method=payout.method,
        delivery=payout.delivery,
        source_amount=payout.source_amount,
        source_currency=payout.source_currency,
        fx_rate=payout.fx_rate,
        commission_count=payout.commission_count,
        run_id=payout.run_id,
        provider_reference=payout.provider_reference,
        failure_reason=payout.failure_reason,
        retry_of_id=payout.retry_of_id,
        created_at=payout.created_at,
        paid_at=payout.paid_at,
    )


def _rate(session: Session, program: Program, base: str, quote: str, at: datetime) -> str | None:
    if base == quote:
        return None
    found = fx_service.rate_on(session, program, base, quote, as_utc(at).date())
    return found[0] if found else ""


def plan_run(
    session: Session,
    program: Program,
    cutoff: datetime,
    settings: Settings,
    *,
    only: Select[str] | None = None,
    csv_methods: frozenset[str] = frozenset(),
) -> tuple[list[PlannedPayout], list[SkippedOut]]:
    """Who gets what at `cutoff`, how (`csv_methods`: by CSV though their provider is configured) and why others
    are skipped (reads only). `only`: among these commissions (a retry)."""
    totals = repository.partner_totals(session, program.id, cutoff, only)
    methods = repository.methods_of(session, program.id)
    statuses = repository.enrollment_statuses(session, program.id)
    minimums: dict[str, int | None] = {program.currency: program.min_payout_amount}
    configured: dict[MethodType, bool] = {}
    planned: list[PlannedPayout] = []
    skipped: list[SkippedOut] = []
    for total in totals:
        method = methods.get(total.partner_id)
        problems = []
        if statuses.get(total.partner_id) == EnrollmentStatus.BANNED:
            problems.append("The partner is banned: payouts are held.")
        problem = method_problem(method, program.currency)
        if problem is not None:
            problems.append(problem)
        if total.currency not in minimums:
            rate = _rate(session, program, program.currency, total.currency, cutoff)
            minimums[total.currency] = (
                convert(program.min_payout_amount, program.currency, total.currency, rate) if rate else None
            )
        decision = decide(total, problems=problems, minimum=minimums[total.currency])
        if decision.pay and method is not None:
            rate = _rate(session, program, total.currency, method.currency, cutoff)
            if rate == "":
                decision = Decision(
                    total.partner_id,
                    total.currency,
                    total.amount,
                    False,
                    (
                        f"No exchange rate from {total.currency.upper()} to the payout currency {method.currency.upper()}.",
                    ),
                )
            else:
                method_type = MethodType(method.type)
                if method_type not in configured:
                    configured[method_type] = provider_configured(session, settings, program.id, method_type)
                amount = convert(total.amount, total.currency, method.currency, rate) if rate else total.amount
                delivery = delivery_for(method_type, configured[method_type] and method_type not in csv_methods)
                planned.append(PlannedPayout(decision, method, amount, method.currency, rate, total.count, delivery))
                continue
        skipped.append(
            SkippedOut(
                partner_id=total.partner_id,
                reason=decision.reason,
                reasons=list(decision.reasons),
                amount=total.amount,
                currency=total.currency,
            )
        )
    return planned, skipped


def _totals(payouts: list[PayoutOut]) -> dict[str, int]:
    result: dict[str, int] = {}
    for payout in payouts:
        result[payout.currency] = result.get(payout.currency, 0) + payout.amount
    return result


def preview_run(
    session: Session,
    program: Program,
    *,
    cutoff: datetime | None = None,
    run_key: str | None = None,
    settings: Settings | None = None,
    csv_methods: frozenset[str] = frozenset(),
) -> RunOut:
    """What a run would pay now (how, and for how many commissions), and who would be skipped and why;
    writes nothing."""
    cutoff = as_utc(cutoff) if cutoff else utc_now()
    planned, skipped = plan_run(session, program, cutoff, settings or payout_settings(), csv_methods=csv_methods)
    payouts = [
        PayoutOut(
            id=None,
            partner_id=plan.decision.partner_id,
            amount=plan.amount,
            currency=plan.currency,
            status="preview",
            method=plan.method.type,
            delivery=plan.delivery.value,
            source_amount=plan.decision.source_amount,
            source_currency=plan.decision.source_currency,
            fx_rate=plan.fx_rate,
            commission_count=plan.commission_count,
        )
        for plan in planned
    ]
    return RunOut(
        id=None,
        status="preview",
        run_key=run_key or f"manual:{new_id()}",
        cutoff=cutoff,
        payouts=payouts,
        skipped=skipped,
        total_by_currency=_totals(payouts),
    )


def confirm_run(
    session: Session,
    program: Program,
    *,
    run_key: str,
    cutoff: datetime | None = None,
    actor: str = ledger.SYSTEM,
    settings: Settings | None = None,
    csv_methods: frozenset[str] = frozenset(),
) -> PayoutRun:
    """Create the run and its payouts, settle their commissions; raises RunAlreadyConfirmed for a run key
    used before and NothingToPay when no partner is due anything. `csv_methods`: see `plan_run`."""
    cutoff = as_utc(cutoff) if cutoff else utc_now()
    repository.lock_program(session, program.id)
    if repository.run_by_key(session, program.id, run_key) is not None:
        raise RunAlreadyConfirmed(f"The payout run '{run_key}' was confirmed already; nothing was written twice.")
    planned, skipped = plan_run(session, program, cutoff, settings or payout_settings(), csv_methods=csv_methods)
    if not planned:
        raise NothingToPay(
            "No partner is due a payout: no approved commissions past their hold reach the minimum"
            + (f" ({len(skipped)} partners skipped)." if skipped else ".")
        )
    run = _new_run(session, program, run_key, cutoff, skipped, actor)
    _settle(session, program, run, planned, cutoff, actor)
    checkpoint("run.before_commit")
    return run


def _new_run(
    session: Session, program: Program, run_key: str, cutoff: datetime, skipped: list[SkippedOut], actor: str
) -> PayoutRun:
    run = PayoutRun(
        id=new_id(),
        program_id=program.id,
        run_key=run_key,
        status="confirmed",
        cutoff=cutoff,
        skipped=[item.model_dump() for item in skipped],
        created_by=actor[:200],
        created_at=utc_now(),
    )
    session.add(run)
    session.flush()
    return run


def _settle(
    session: Session,
    program: Program,
    run: PayoutRun,
    planned: list[PlannedPayout],
    cutoff: datetime,
    actor: str,
    *,
    only: Select[str] | None = None,
    retry_of: Payout | None = None,
) -> list[dict[str, Any]]:
    """The one settlement of payouts, for a run's confirm and a retry: the payouts, their items (the
    payable commissions at `cutoff`, among `only`), their sums, the commissions paid and one ledger posting
    per payout (through the commission domain), then the API sends. Set-based: a few statements whatever
    the number of commissions. The payout rows as inserted."""
    now = utc_now()
    rows: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "program_id": program.id,
            "run_id": run.id,
            "partner_id": plan.decision.partner_id,
            "amount": plan.amount,
            "currency": plan.currency,
            "source_amount": plan.decision.source_amount,
            "source_currency": plan.decision.source_currency,
            "fx_rate": plan.fx_rate,
            "method": plan.method.type,
            "delivery": plan.delivery.value,
            "status": PayoutStatus.PENDING.value,
            "commission_count": 0,
            "retry_of_id": retry_of.id if retry_of is not None else None,
            "created_at": now,
        }
        for plan in planned
    ]
    repository.insert_payouts(session, rows)
    repository.claim_commissions(session, program.id, run.id, cutoff, only)
    _settle_run_payouts(session, rows, repository.settle_run_payouts(session, run.id))
    commission_service.mark_paid(
        session,
        program_id=program.id,
        run_id=run.id,
        commission_ids=repository.live_commission_ids(run_id=run.id),
        actor=actor,
    )
    _enqueue_sends(session, program.id, run.id, {row["method"] for row in rows if row["delivery"] == Delivery.API})
    return rows


def _settle_run_payouts(session: Session, rows: list[dict[str, Any]], claimed: dict[str, int]) -> None:
    """Correct the payouts whose commissions changed between the plan and the claim (one approved or
    released meanwhile): the amount follows the claimed sum, converted at the payout's rate."""
    changed: list[dict[str, Any]] = []
    for row in rows:
        source_amount = claimed.get(row["id"], 0)
        if source_amount == row["source_amount"] and row["id"] in claimed:
            continue
        amount = (
            convert(source_amount, row["source_currency"], row["currency"], row["fx_rate"])
            if row["fx_rate"]
            else source_amount
        )
        changed.append({"id": row["id"], "source_amount": source_amount, "amount": amount})
    repository.set_payout_amounts(session, changed)


def _enqueue_sends(session: Session, program_id: str, run_id: str, methods: set[str]) -> None:
    from partnerloop.jobs.queue import enqueue

    for method in sorted(methods):
        if MethodType(method).sent_by_api:
            enqueue(
                session,
                SEND_JOB,
                {"program_id": program_id, "run_id": run_id, "method": method},
                program_id=program_id,
                unique_key=f"{SEND_JOB}:{run_id}:{method}",
                max_attempts=20,
            )


def run_out(session: Session, run: PayoutRun) -> RunOut:
    payouts = [payout_out(payout) for payout in repository.payouts_of_run(session, run.id)]
    return RunOut(
        id=run.id,
        status=run.status,
        run_key=run.run_key,
        cutoff=run.cutoff,
        payouts=payouts,
        skipped=[SkippedOut(**item) for item in run.skipped or []],
        total_by_currency=_totals(payouts),
    )


def get_run(session: Session, program: Program, run_id: str) -> PayoutRun:
    run = repository.get_run(session, program.id, run_id)
    if run is None:
        raise RunNotFound(f"No payout run {run_id} in this program.")
    return run


def get_payout(session: Session, program: Program, payout_id: str, *, lock: bool = False) -> Payout:
    payout = repository.get_payout(session, program.id, payout_id, lock=lock)
    if payout is None:
        raise PayoutNotFound(f"No payout {payout_id} in this program.")
    return payout


def _notify(session: Session, payout: Payout) -> None:
    """Email the partner (through the job queue, in this transaction) that the payout was sent or failed."""
    from partnerloop.models import Partner
    from partnerloop.notify.service import notify

    partner = session.get(Partner, payout.partner_id)
    program = session.get(Program, payout.program_id)
    if partner is None or program is None:
        return
    amount = email_money(payout.amount, payout.currency)
    if payout.status == PayoutStatus.PAID:
        subject = f"Your payout of {amount} is on its way"
        text = (
            f"Hello {partner.name},\n\nWe sent you {amount} by {payout.method} "
            f"(reference {payout.provider_reference}) for {payout.commission_count} commissions.\n"
        )
    else:
        subject = f"Your payout of {amount} failed"
        text = (
            f"Hello {partner.name},\n\nYour payout of {amount} by {payout.method} failed: {payout.failure_reason}\n"
            f"The amount is back in your balance and will be paid again; please check your payout details.\n"
        )
    # A notification (kind payout_sent): branded, with the partner's choice and an unsubscribe link.
    notify(session, program, "payout_sent", [partner.email], subject=subject, lines=text.strip().split("\n\n"))


def settle_paid(session: Session, payout: Payout, reference: str) -> None:
    """The provider (or a person) paid it: status paid, the reference kept, the partner told."""
    payout.status = PayoutStatus.PAID.value
    payout.provider_reference = reference[:200]
    payout.paid_at = utc_now()
    session.flush()
    _notify(session, payout)
    emit(session, payout.program_id, "payout.paid", payout_out(payout).model_dump(mode="json"))


def settle_failed(
    session: Session, payout: Payout, reason: str, *, actor: str = ledger.SYSTEM, canceled: bool = False
) -> None:
    """It failed (or was canceled): its commissions return to the partner's available balance."""
    commission_service.mark_payout_failed(
        session,
        program_id=payout.program_id,
        payout_id=payout.id,
        commission_ids=repository.live_commission_ids(payout_id=payout.id),
        actor=actor,
    )
    repository.release_items(session, payout.id)
    payout.status = (PayoutStatus.CANCELED if canceled else PayoutStatus.FAILED).value
    payout.failure_reason = reason[:1000]
    payout.failed_at = utc_now()
    session.flush()
    if not canceled:
        _notify(session, payout)
        emit(session, payout.program_id, "payout.failed", payout_out(payout).model_dump(mode="json"))


def mark_paid(session: Session, program: Program, payout_id: str, reference: str) -> Payout:
    """A manager paid it outside (CSV upload, bank): record the provider reference."""
    payout = get_payout(session, program, payout_id, lock=True)
    status = PayoutStatus(payout.status)
    if status is PayoutStatus.PAID:
        if payout.provider_reference == reference:
            return payout  # the same confirmation again changes nothing
        raise PayoutStateConflict(
            f"Payout {payout_id} was marked paid already (reference {payout.provider_reference})."
        )
    if not status.is_open:
        raise PayoutStateConflict(
            f"Payout {payout_id} is {payout.status}: only a pending or processing payout can be marked paid."
        )
    settle_paid(session, payout, reference)
    return payout


def mark_failed(session: Session, program: Program, payout_id: str, reason: str, *, actor: str) -> Payout:
    payout = get_payout(session, program, payout_id, lock=True)
    if not PayoutStatus(payout.status).is_open:
        raise PayoutStateConflict(
            f"Payout {payout_id} is {payout.status}: only a pending or processing payout can fail."
        )
    settle_failed(session, payout, reason, actor=actor)
    return payout


def cancel(session: Session, program: Program, payout_id: str, *, actor: str) -> Payout:
    payout = get_payout(session, program, payout_id, lock=True)
    if payout.status != PayoutStatus.PENDING or payout.provider_batch_id is not None:
        raise PayoutStateConflict(
            f"Payout {payout_id} is {payout.status}: only a pending payout not yet sent can be canceled."
        )
    settle_failed(session, payout, "Canceled by a manager.", actor=actor, canceled=True)
    return payout


def retry(
    session: Session, program: Program, payout_id: str, *, actor: str, settings: Settings | None = None
) -> Payout:
    """A new payout for a failed one, with the same commissions (those still payable and free), settled
    as a run of one payout."""
    failed = get_payout(session, program, payout_id, lock=True)
    if failed.status != PayoutStatus.FAILED:
        raise PayoutStateConflict(f"Payout {payout_id} is {failed.status}: only a failed payout can be retried.")
    run_key = f"retry:{failed.id}"
    if repository.run_by_key(session, program.id, run_key) is not None:
        raise RunAlreadyConfirmed(f"Payout {payout_id} was retried already.")
    now = utc_now()
    only = repository.released_commission_ids(failed.id)
    planned, skipped = plan_run(session, program, now, settings or payout_settings(), only=only)
    mine = [plan for plan in planned if plan.decision.partner_id == failed.partner_id]
    if not mine:
        why = next((item.reason for item in skipped if item.partner_id == failed.partner_id), "")
        raise NothingToPay(f"Cannot retry payout {payout_id}: {why or 'none of its commissions is payable now.'}")
    run = _new_run(session, program, run_key, now, [], actor)
    [row] = _settle(session, program, run, mine, now, actor, only=only, retry_of=failed)
    payout = repository.get_payout(session, program.id, row["id"])
    assert payout is not None
    return payout


def scheduled_runs_due(session: Session, now: datetime) -> list[tuple[str, str, datetime]]:
    """(program id, run key, cutoff) of every monthly run due now and not yet made."""
    from partnerloop.payout.rules import scheduled_run

    due = []
    for found in repository.monthly_programs(session):
        planned = scheduled_run(found.schedule, found.day_of_month, found.net_days, now)
        if planned is None:
            continue
        run_key, cutoff = planned
        if repository.run_by_key(session, found.program_id, run_key) is None:
            due.append((found.program_id, run_key, cutoff))
    return due
