"""What the manager's Payouts page shows, in one read: who a run would pay now and who not (with the
preview's own reasons), how each method would be delivered, the open and failed payouts, the run
history and the schedule. Reads only; the page's actions call `run` and `methods`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from partnerloop.config import Settings
from partnerloop.kit.errors import AppError, InvalidInput
from partnerloop.models import Program
from partnerloop.payout import repository
from partnerloop.payout.rules import Delivery, MethodType, PayoutStatus
from partnerloop.payout.schemas import PayoutOut, PayoutSettingsOut, RunOut, SkippedOut
from partnerloop.payout.service.methods import program_settings, provider_configured, settings_out
from partnerloop.payout.service.run import mark_paid, payout_out, preview_run

METHOD_LABELS = {"paypal": "PayPal", "wise": "Wise", "stripe_connect": "Stripe Connect", "manual": "Manual"}
EXPORT_FORMATS = ("paypal", "wise")  # the methods with a bulk CSV
OPEN_LIMIT = 200
SHOWN_LIMIT = 200  # due and skipped partners listed on the page (the run pays all)
RUN_LIMIT = 25


class DeliveryChoiceMissing(InvalidInput):
    """A configured provider's method was given no delivery choice (`csv_methods_from_choice`)."""


class NoPayoutSelected(InvalidInput):
    pass


@dataclass(frozen=True)
class PartnerName:
    name: str
    email: str


@dataclass(frozen=True)
class PayoutRow:
    payout: PayoutOut
    partner: PartnerName
    retried: bool = False


@dataclass(frozen=True)
class SkippedRow:
    skipped: SkippedOut
    partner: PartnerName


@dataclass(frozen=True)
class MethodDelivery:
    """How the due payouts of one method can go: `can_send` when its provider is configured now."""

    method: str
    label: str
    count: int
    can_send: bool


@dataclass
class RunRow:
    id: str
    run_key: str
    cutoff: datetime
    created_at: datetime
    created_by: str
    skipped: int
    payouts: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    exports: list[tuple[str, str]] = field(default_factory=list)  # (format, currency) with open CSV payouts


@dataclass(frozen=True)
class PayoutBoard:
    preview: RunOut
    due: list[PayoutRow]  # the first SHOWN_LIMIT of due_count
    skipped: list[SkippedRow]  # the first SHOWN_LIMIT of skipped_count
    due_count: int
    skipped_count: int
    deliveries: list[MethodDelivery]
    open: list[PayoutRow]
    failed: list[PayoutRow]
    runs: list[RunRow]
    schedule: PayoutSettingsOut


def _names(session: Session, partner_ids: Sequence[str]) -> dict[str, PartnerName]:
    found = repository.partners_by_id(session, sorted(set(partner_ids)))
    return {partner_id: PartnerName(partner.name, partner.email) for partner_id, partner in found.items()}


def _deliveries(session: Session, settings: Settings, program_id: str, due: list[PayoutOut]) -> list[MethodDelivery]:
    counts: dict[str, int] = {}
    for payout in due:
        counts[payout.method] = counts.get(payout.method, 0) + 1
    return [
        MethodDelivery(
            method,
            METHOD_LABELS.get(method, method),
            count,
            MethodType(method).sent_by_api and provider_configured(session, settings, program_id, MethodType(method)),
        )
        for method, count in sorted(counts.items())
    ]


def _runs(session: Session, program_id: str) -> list[RunRow]:
    runs = {
        run.id: RunRow(run.id, run.run_key, run.cutoff, run.created_at, run.created_by, len(run.skipped or []))
        for run in repository.recent_runs(session, program_id, RUN_LIMIT)
    }
    for run_id, method, delivery, currency, status, count, amount in repository.run_figures(session, list(runs)):
        row = runs[run_id]
        row.payouts += count
        row.statuses[status] = row.statuses.get(status, 0) + count
        if PayoutStatus(status).holds_commissions:
            row.totals[currency] = row.totals.get(currency, 0) + amount
        exportable = method in EXPORT_FORMATS and delivery == Delivery.CSV and PayoutStatus(status).is_open
        if exportable and (method, currency) not in row.exports:
            row.exports.append((method, currency))
    for row in runs.values():
        row.exports.sort()
    return list(runs.values())


def payout_board(session: Session, settings: Settings, program: Program) -> PayoutBoard:
    """Everything the Payouts page shows (reads only)."""
    preview = preview_run(session, program, settings=settings)
    open_payouts = repository.payouts_in_status(
        session, program.id, [PayoutStatus.PENDING.value, PayoutStatus.PROCESSING.value], OPEN_LIMIT
    )
    failed = repository.payouts_in_status(session, program.id, [PayoutStatus.FAILED.value], OPEN_LIMIT)
    retried = repository.retried_ids(session, [payout.id for payout in failed])
    # the largest balances first, SHOWN_LIMIT of each list
    due = sorted(preview.payouts, key=lambda payout: -payout.amount)[:SHOWN_LIMIT]
    skipped = sorted(preview.skipped, key=lambda item: -(item.amount or 0))[:SHOWN_LIMIT]
    names = _names(
        session,
        [payout.partner_id for payout in [*open_payouts, *failed]]
        + [payout.partner_id for payout in due]
        + [skipped.partner_id for skipped in skipped],
    )
    unknown = PartnerName("(unknown partner)", "")
    return PayoutBoard(
        preview=preview,
        due=[PayoutRow(payout, names.get(payout.partner_id, unknown)) for payout in due],
        skipped=[SkippedRow(item, names.get(item.partner_id, unknown)) for item in skipped],
        due_count=len(preview.payouts),
        skipped_count=len(preview.skipped),
        deliveries=_deliveries(session, settings, program.id, preview.payouts),
        open=[PayoutRow(payout_out(payout), names.get(payout.partner_id, unknown)) for payout in open_payouts],
        failed=[
            PayoutRow(payout_out(payout), names.get(payout.partner_id, unknown), payout.id in retried)
            for payout in failed
        ],
        runs=_runs(session, program.id),
        schedule=settings_out(program_settings(session, program.id)),
    )


def csv_methods_from_choice(
    session: Session, settings: Settings, program_id: str, offered: Sequence[str], choices: dict[str, str]
) -> frozenset[str]:
    """The methods to pay from the CSV, from the manager's choice per method (`api` or `csv`). Only an explicit
    `api` sends through a provider: a configured method the page offered without a choice raises
    DeliveryChoiceMissing, and one it did not offer (due since the page was shown) goes by CSV."""
    csv_methods: set[str] = set()
    missing: list[str] = []
    for method in MethodType:
        if not (method.sent_by_api and provider_configured(session, settings, program_id, method)):
            continue
        choice = choices.get(method.value, "")
        if choice != Delivery.API:
            csv_methods.add(method.value)
        if method.value in offered and choice not in (Delivery.API, Delivery.CSV):
            missing.append(method.value)
    if missing:
        labels = " and ".join(METHOD_LABELS.get(method, method) for method in missing)
        raise DeliveryChoiceMissing(
            f"delivery: choose how to pay the {labels} payouts: send them through the provider, or pay them from the CSV."
        )
    return frozenset(csv_methods)


def mark_paid_many(
    session: Session, program: Program, payout_ids: Sequence[str], reference: str
) -> tuple[int, list[str]]:
    """Mark each of these payouts paid with one reference (a bank transfer or a provider's batch id): how many
    were, and a sentence for each that was not. No payout or no reference: NoPayoutSelected / InvalidInput."""
    reference = reference.strip()
    if not payout_ids:
        raise NoPayoutSelected("payout_ids: select at least one payout to mark paid.")
    if not reference:
        raise InvalidInput("reference: give the payment's reference (the bank transfer or the provider's batch id).")
    if len(reference) > 200:
        raise InvalidInput("reference: at most 200 characters.")
    done, problems = 0, []
    for payout_id in dict.fromkeys(payout_ids):
        try:
            mark_paid(session, program, payout_id, reference)
        except AppError as error:
            problems.append(error.message)
        else:
            done += 1
    return done, problems
