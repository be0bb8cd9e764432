"""Payout jobs. Each step commits before the next one talks to a provider, and every provider call
carries a key derived from the payout ids, so a worker killed anywhere and restarted resends the same
request, which the provider answers without paying twice.

- `payout_send` (run, method): only payouts whose delivery is `api` (decided at the run: the provider
  was configured); PayPal: gather the run's pending PayPal payouts into batches whose
  sender_batch_id is a hash of their payout ids, mark them processing; Stripe: one transfer job each.
- `payout_paypal_submit` (batch): create the batch at PayPal (a resend finds the original).
- `payout_paypal_poll` (batch): read item statuses; paid / failed each payout; poll again until final.
- `payout_stripe_transfer` (payout): the transfer, idempotency key `payout-<id>`.
- `payout_schedule_tick`: hourly; enqueues each program's monthly run once (`payout_run`).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from partnerloop.jobs.queue import enqueue, job_handler
from partnerloop.kit.time import utc_now
from partnerloop.models import Partner, Program, ProviderBatch
from partnerloop.payout import repository
from partnerloop.payout.providers import stripe_connect
from partnerloop.payout.providers.paypal import BatchItem, PaypalClient, PaypalRejected
from partnerloop.payout.rules import Delivery, MethodType, PayoutStatus, format_amount, paypal_item_outcome
from partnerloop.payout.service import run as run_service
from partnerloop.payout.service.methods import (
    configure_payouts,
    method_details,
    payout_settings,
    provider_configured,
    stripe_key,
)
from partnerloop.payout.service.run import SEND_JOB, RunAlreadyConfirmed, checkpoint

log = logging.getLogger("partnerloop.payout")

__all__ = ["configure_payouts", "payout_settings"]  # the app wires payouts through this module

SUBMIT_JOB = "payout_paypal_submit"
POLL_JOB = "payout_paypal_poll"
STRIPE_JOB = "payout_stripe_transfer"
RUN_JOB = "payout_run"
TICK_JOB = "payout_schedule_tick"
PAYPAL_MAX_ITEMS = 15000  # PayPal Payouts API: at most 15,000 items in one batch


def sender_batch_id(payout_ids: list[str]) -> str:
    """Derived from the payout ids alone: the same payouts always make the same PayPal batch id."""
    return "pl-" + hashlib.sha256(",".join(sorted(payout_ids)).encode()).hexdigest()[:40]


def _program(session: Session, program_id: str) -> Program:
    program = session.get(Program, program_id)
    if program is None:
        raise LookupError(f"program {program_id} is gone")
    return program


@job_handler(SEND_JOB)
def send(session: Session, payload: dict[str, Any]) -> None:
    run_id, method, program_id = str(payload["run_id"]), str(payload["method"]), str(payload["program_id"])
    payouts = repository.unsent_api_payouts(session, run_id, method)
    if not payouts:
        return
    if not provider_configured(session, payout_settings(), program_id, MethodType(method)):
        # The credentials went away since the run: these wait for CSV + mark-paid, never sent later.
        for payout in payouts:
            payout.delivery = Delivery.CSV.value
        log.warning("payout run %s: %s is not configured; %d payouts wait for CSV", run_id, method, len(payouts))
        return
    now = utc_now()
    if method == MethodType.STRIPE_CONNECT:
        for payout in payouts:
            payout.provider_batch_id = f"stripe:{payout.id}"
            payout.status = PayoutStatus.PROCESSING.value
            payout.sent_at = now
            enqueue(
                session,
                STRIPE_JOB,
                {"payout_id": payout.id},
                program_id=program_id,
                unique_key=f"{STRIPE_JOB}:{payout.id}",
                max_attempts=20,
            )
        return
    for start in range(0, len(payouts), PAYPAL_MAX_ITEMS):
        chunk = payouts[start : start + PAYPAL_MAX_ITEMS]
        batch_id = sender_batch_id([payout.id for payout in chunk])
        session.add(ProviderBatch(id=batch_id, program_id=program_id, provider="paypal", status="created"))
        for payout in chunk:
            payout.provider_batch_id = batch_id
            payout.status = PayoutStatus.PROCESSING.value
            payout.sent_at = now
        session.flush()
        enqueue(
            session,
            SUBMIT_JOB,
            {"batch_id": batch_id},
            program_id=program_id,
            unique_key=f"{SUBMIT_JOB}:{batch_id}",
            max_attempts=20,
        )
    checkpoint("send.before_commit")


@job_handler(SUBMIT_JOB)
def submit_paypal(session: Session, payload: dict[str, Any]) -> None:
    batch = repository.get_batch(session, str(payload["batch_id"]), lock=True)
    if batch is None or batch.status != "created":
        return
    payouts = [
        payout for payout in repository.payouts_in_batch(session, batch.id) if payout.status == PayoutStatus.PROCESSING
    ]
    if not payouts:
        batch.status = "done"
        return
    settings = payout_settings()
    methods = repository.methods_of(session, batch.program_id, [payout.partner_id for payout in payouts])
    program = _program(session, batch.program_id)
    items = [
        BatchItem(
            sender_item_id=payout.id,
            receiver=str(method_details(settings, methods[payout.partner_id])["email"]),
            amount=format_amount(payout.amount, payout.currency),
            currency=payout.currency.upper(),
            note=f"{program.name}: {payout.commission_count} commissions",
        )
        for payout in payouts
    ]
    checkpoint("submit.before_call")
    try:
        with PaypalClient(settings) as paypal:
            payout_batch_id = paypal.create_batch(batch.id, items, f"You have a payout from {program.name}")
    except PaypalRejected as error:
        for payout in payouts:
            run_service.settle_failed(session, payout, str(error))
        batch.status = "done"
        return
    checkpoint("submit.after_call")
    batch.provider_batch_id = payout_batch_id
    batch.status = "sent"
    for payout in payouts:
        payout.provider_reference = payout_batch_id
    enqueue(session, POLL_JOB, {"batch_id": batch.id}, program_id=batch.program_id, max_attempts=50)


@job_handler(POLL_JOB)
def poll_paypal(session: Session, payload: dict[str, Any]) -> None:
    batch = repository.get_batch(session, str(payload["batch_id"]), lock=True)
    if batch is None or batch.status != "sent" or batch.provider_batch_id is None:
        return
    settings = payout_settings()
    with PaypalClient(settings) as paypal:
        batch_status, items = paypal.get_batch(batch.provider_batch_id)
    checkpoint("poll.after_call")
    by_payout = {item.sender_item_id: item for item in items}
    still_open = 0
    for payout in repository.payouts_in_batch(session, batch.id, lock=True):
        if payout.status != PayoutStatus.PROCESSING:
            continue
        item = by_payout.get(payout.id)
        if item is None:
            if batch_status in ("DENIED", "CANCELED"):
                run_service.settle_failed(session, payout, f"PayPal {batch_status.lower()} the batch.")
            else:
                still_open += 1
            continue
        outcome = paypal_item_outcome(item.transaction_status)
        if outcome is PayoutStatus.PAID:
            run_service.settle_paid(session, payout, item.transaction_id or item.payout_item_id)
        elif outcome is PayoutStatus.FAILED:
            reason = f"PayPal: {item.transaction_status}" + (f" ({item.error})" if item.error else "")
            run_service.settle_failed(session, payout, reason)
        else:
            still_open += 1
    if still_open:
        enqueue(
            session,
            POLL_JOB,
            {"batch_id": batch.id},
            program_id=batch.program_id,
            run_at=utc_now() + timedelta(seconds=settings.payout_poll_seconds),
            max_attempts=50,
        )
    else:
        batch.status = "done"


@job_handler(STRIPE_JOB)
def transfer_stripe(session: Session, payload: dict[str, Any]) -> None:
    payout = repository.payout_by_id(session, str(payload["payout_id"]), lock=True)
    if payout is None or payout.status != PayoutStatus.PROCESSING:
        return
    settings = payout_settings()
    key = stripe_key(session, settings, payout.program_id)
    method = repository.get_method(session, payout.program_id, payout.partner_id)
    if key is None or method is None or method.type != MethodType.STRIPE_CONNECT:
        run_service.settle_failed(
            session, payout, "Stripe Connect is not set up (no secret key or no connected account)."
        )
        return
    checkpoint("stripe.before_call")
    try:
        transfer = stripe_connect.create_transfer(
            settings,
            key,
            payout_id=payout.id,
            amount=payout.amount,
            currency=payout.currency,
            destination=str(method_details(settings, method)["account_id"]),
            group=payout.run_id,
        )
    except stripe_connect.StripeRejected as error:
        run_service.settle_failed(session, payout, str(error))
        return
    checkpoint("stripe.after_call")
    run_service.settle_paid(session, payout, transfer.id)


@job_handler(RUN_JOB)
def scheduled_run(session: Session, payload: dict[str, Any]) -> None:
    """A run by schedule (or by a job someone enqueued): a second one with the same key does nothing."""
    from datetime import datetime

    from partnerloop.payout.service.run import NothingToPay

    program = _program(session, str(payload["program_id"]))
    cutoff = datetime.fromisoformat(str(payload["cutoff"])) if payload.get("cutoff") else None
    try:
        run_service.confirm_run(session, program, run_key=str(payload["run_key"]), cutoff=cutoff)
    except (RunAlreadyConfirmed, NothingToPay) as error:
        log.info("payout run %s of %s: %s", payload["run_key"], program.id, error.message)


@job_handler(TICK_JOB)
def schedule_tick(session: Session, _payload: dict[str, Any]) -> None:
    for program_id, run_key, cutoff in run_service.scheduled_runs_due(session, utc_now()):
        enqueue(
            session,
            RUN_JOB,
            {"program_id": program_id, "run_key": run_key, "cutoff": cutoff.isoformat()},
            program_id=program_id,
            unique_key=f"{RUN_JOB}:{program_id}:{run_key}",
        )


def partner_email(session: Session, partner_id: str) -> tuple[str, str] | None:
    partner = session.get(Partner, partner_id)
    return (partner.email, partner.name) if partner is not None else None
