"""All payout SQL, scoped by program. The run works set-based (INSERT … SELECT, UPDATE … FROM) so a
run over a million commissions never loads them into memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, insert, literal, select, update
from sqlalchemy.orm import Session

from partnerloop.commission import repository as commission_repository
from partnerloop.kit.pagination import page_of, paginate
from partnerloop.ledger import repository as ledger_repository
from partnerloop.models import (
    Commission,
    Enrollment,
    Partner,
    Payout,
    PayoutItem,
    PayoutMethod,
    PayoutRun,
    PayoutSettings,
    Program,
    ProviderBatch,
)
from partnerloop.payout.rules import Delivery, PartnerTotal


def lock_program(session: Session, program_id: str) -> None:
    """Runs of one program take turns (PostgreSQL row lock; SQLite's writer lock already serializes)."""
    session.execute(select(Program.id).where(Program.id == program_id).with_for_update())


def _payable(program_id: str, cutoff: datetime, only: Select[str] | None) -> Select[str, str, str, Any]:
    """The commissions a run at `cutoff` pays (the commission domain's rule, as SQL), each priced by its
    postings on the ledger's approved account; among `only` (a SELECT of commission ids) when given."""
    statement = select(
        Commission.id.label("commission_id"),
        Commission.partner_id.label("partner_id"),
        Commission.earnings_currency.label("currency"),
        ledger_repository.approved_of_commission(Commission.id).label("amount"),
    ).where(Commission.program_id == program_id, commission_repository.payable_at(cutoff))
    if only is not None:
        statement = statement.where(Commission.id.in_(only))
    return statement


def partner_totals(
    session: Session, program_id: str, cutoff: datetime, only: Select[str] | None = None
) -> list[PartnerTotal]:
    """Payable commissions at `cutoff`, netted per partner and currency from their ledger postings."""
    payable = _payable(program_id, cutoff, only).subquery()
    rows = session.execute(
        select(payable.c.partner_id, payable.c.currency, func.sum(payable.c.amount), func.count())
        .group_by(payable.c.partner_id, payable.c.currency)
        .order_by(payable.c.partner_id, payable.c.currency)
    ).all()
    return [PartnerTotal(row[0], row[1], int(row[2] or 0), int(row[3])) for row in rows]


def methods_of(session: Session, program_id: str, partner_ids: Sequence[str] | None = None) -> dict[str, PayoutMethod]:
    statement = select(PayoutMethod).where(PayoutMethod.program_id == program_id)
    if partner_ids is not None:
        statement = statement.where(PayoutMethod.partner_id.in_(list(partner_ids)))
    return {method.partner_id: method for method in session.execute(statement).scalars()}


def enrollment_statuses(session: Session, program_id: str) -> dict[str, str]:
    rows = session.execute(
        select(Enrollment.partner_id, Enrollment.status).where(Enrollment.program_id == program_id)
    ).all()
    return {row[0]: row[1] for row in rows}


def get_method(session: Session, program_id: str, partner_id: str) -> PayoutMethod | None:
    return session.execute(
        select(PayoutMethod).where(PayoutMethod.program_id == program_id, PayoutMethod.partner_id == partner_id)
    ).scalar_one_or_none()


def get_settings(session: Session, program_id: str) -> PayoutSettings | None:
    return session.get(PayoutSettings, program_id)


def monthly_programs(session: Session) -> list[PayoutSettings]:
    return list(session.execute(select(PayoutSettings).where(PayoutSettings.schedule == "monthly")).scalars())


def run_by_key(session: Session, program_id: str, run_key: str) -> PayoutRun | None:
    return session.execute(
        select(PayoutRun).where(PayoutRun.program_id == program_id, PayoutRun.run_key == run_key)
    ).scalar_one_or_none()


def get_run(session: Session, program_id: str, run_id: str) -> PayoutRun | None:
    return session.execute(
        select(PayoutRun).where(PayoutRun.program_id == program_id, PayoutRun.id == run_id)
    ).scalar_one_or_none()


def insert_payouts(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Payout), rows)


def claim_commissions(
    session: Session, program_id: str, run_id: str, cutoff: datetime, only: Select[str] | None = None
) -> int:
    """Put every payable commission at `cutoff` (among `only` when given) into its partner's payout of this
    run, priced from the ledger; how many.

    The partial unique index on payout_items(commission_id) is the last guard: a commission already in
    an unreleased payout makes this fail rather than be paid twice."""
    payable = _payable(program_id, cutoff, only).subquery()
    chosen = select(
        literal(program_id),
        Payout.id,
        payable.c.commission_id,
        payable.c.amount,
        literal(False),
    ).join(
        Payout,
        and_(
            Payout.run_id == run_id,
            Payout.partner_id == payable.c.partner_id,
            Payout.source_currency == payable.c.currency,
        ),
    )
    result = session.execute(
        insert(PayoutItem).from_select(["program_id", "payout_id", "commission_id", "amount", "released"], chosen)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def settle_run_payouts(session: Session, run_id: str) -> dict[str, int]:
    """Every payout of the run takes the sum and count of its claimed commissions (one UPDATE … FROM);
    a payout without an exchange rate pays that sum. {payout id: its source amount} for those that have
    commissions."""
    claimed = (
        select(
            PayoutItem.payout_id.label("payout_id"),
            func.sum(PayoutItem.amount).label("source_amount"),
            func.count().label("commission_count"),
        )
        .join(Payout, Payout.id == PayoutItem.payout_id)
        .where(Payout.run_id == run_id, PayoutItem.released.is_(False))
        .group_by(PayoutItem.payout_id)
        .subquery()
    )
    rows = session.execute(
        update(Payout)
        .where(Payout.id == claimed.c.payout_id)
        .values(
            source_amount=claimed.c.source_amount,
            commission_count=claimed.c.commission_count,
            amount=case((Payout.fx_rate.is_(None), claimed.c.source_amount), else_=Payout.amount),
        )
        .returning(Payout.id, Payout.source_amount)
        .execution_options(synchronize_session=False)
    ).all()
    return {row[0]: int(row[1]) for row in rows}


def set_payout_amounts(session: Session, amounts: Sequence[dict[str, Any]]) -> None:
    """[{"id", "source_amount", "amount"}]: payouts whose commissions changed since the plan (bulk by id)."""
    if amounts:
        session.execute(update(Payout), list(amounts))


def live_commission_ids(*, run_id: str | None = None, payout_id: str | None = None) -> Select[str]:
    """The commissions held by the run's (or the payout's) unreleased items, as a SELECT for the
    commission domain to settle or release in one statement."""
    statement = select(PayoutItem.commission_id).where(PayoutItem.released.is_(False))
    if payout_id is not None:
        statement = statement.where(PayoutItem.payout_id == payout_id)
    if run_id is not None:
        statement = statement.where(PayoutItem.payout_id.in_(select(Payout.id).where(Payout.run_id == run_id)))
    return statement


def released_commission_ids(payout_id: str) -> Select[str]:
    """The commissions a failed payout let go of, as a SELECT."""
    return select(PayoutItem.commission_id).where(PayoutItem.payout_id == payout_id, PayoutItem.released.is_(True))


def release_items(session: Session, payout_id: str) -> int:
    """A failed or canceled payout's items let go of their commissions (free for another payout); how many.
    The commissions' status is the commission domain's (`commission.service.mark_payout_failed`)."""
    result = session.execute(
        update(PayoutItem)
        .where(PayoutItem.payout_id == payout_id, PayoutItem.released.is_(False))
        .values(released=True)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def item_commission_ids(session: Session, payout_id: str, *, released: bool) -> list[str]:
    return list(
        session.execute(
            select(PayoutItem.commission_id)
            .where(PayoutItem.payout_id == payout_id, PayoutItem.released.is_(released))
            .order_by(PayoutItem.id)
        ).scalars()
    )


def get_payout(session: Session, program_id: str, payout_id: str, *, lock: bool = False) -> Payout | None:
    statement = select(Payout).where(Payout.program_id == program_id, Payout.id == payout_id)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def payout_by_id(session: Session, payout_id: str, *, lock: bool = False) -> Payout | None:
    statement = select(Payout).where(Payout.id == payout_id)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def payouts_of_run(session: Session, run_id: str, *, method: str | None = None) -> list[Payout]:
    statement = select(Payout).where(Payout.run_id == run_id)
    if method is not None:
        statement = statement.where(Payout.method == method)
    return list(session.execute(statement.order_by(Payout.partner_id, Payout.source_currency)).scalars())


def list_payouts(
    session: Session, program_id: str, *, partner_id: str | None, status: str | None, cursor: str | None, limit: int
) -> tuple[list[Payout], str | None]:
    statement = select(Payout).where(Payout.program_id == program_id)
    if partner_id is not None:
        statement = statement.where(Payout.partner_id == partner_id)
    if status is not None:
        statement = statement.where(Payout.status == status)
    rows = list(session.execute(paginate(statement, Payout.id, cursor, limit)).scalars())
    return page_of(rows, limit, lambda payout: payout.id)


def unsent_api_payouts(session: Session, run_id: str, method: str) -> list[Payout]:
    """The run's pending payouts of `method` to be sent by API and not yet given to a provider batch, locked
    (a payout waiting for CSV, or marked paid, is never among them)."""
    return list(
        session.execute(
            select(Payout)
            .where(
                Payout.run_id == run_id,
                Payout.method == method,
                Payout.delivery == Delivery.API.value,
                Payout.status == "pending",
                Payout.provider_batch_id.is_(None),
            )
            .order_by(Payout.id)
            .with_for_update()
        ).scalars()
    )


def payouts_in_batch(session: Session, batch_id: str, *, lock: bool = False) -> list[Payout]:
    statement = select(Payout).where(Payout.provider_batch_id == batch_id).order_by(Payout.id)
    if lock:
        statement = statement.with_for_update()
    return list(session.execute(statement).scalars())


def get_batch(session: Session, batch_id: str, *, lock: bool = False) -> ProviderBatch | None:
    statement = select(ProviderBatch).where(ProviderBatch.id == batch_id)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def partners_by_id(session: Session, partner_ids: Sequence[str]) -> dict[str, Partner]:
    if not partner_ids:
        return {}
    return {
        partner.id: partner
        for partner in session.execute(select(Partner).where(Partner.id.in_(list(partner_ids)))).scalars()
    }


def commissions_of_payout(session: Session, payout_id: str) -> list[Commission]:
    inside = select(PayoutItem.commission_id).where(PayoutItem.payout_id == payout_id)
    return list(session.execute(select(Commission).where(Commission.id.in_(inside)).order_by(Commission.id)).scalars())


def payouts_of_partner(session: Session, program_id: str, partner_id: str) -> list[Payout]:
    return list(
        session.execute(
            select(Payout)
            .where(Payout.program_id == program_id, Payout.partner_id == partner_id)
            .order_by(Payout.created_at, Payout.id)
        ).scalars()
    )


def paid_in_year(session: Session, program_id: str, start: datetime, end: datetime) -> list[tuple[str, str, int, int]]:
    """(partner id, currency, paid amount, payouts) over payouts paid in [start, end)."""
    rows = session.execute(
        select(Payout.partner_id, Payout.currency, func.sum(Payout.amount), func.count())
        .where(Payout.program_id == program_id, Payout.status == "paid", Payout.paid_at >= start, Payout.paid_at < end)
        .group_by(Payout.partner_id, Payout.currency)
        .order_by(Payout.partner_id)
    ).all()
    return [(row[0], row[1], int(row[2] or 0), int(row[3])) for row in rows]


def payouts_in_status(session: Session, program_id: str, statuses: Sequence[str], limit: int) -> list[Payout]:
    """The program's most recent payouts in these statuses (newest first)."""
    return list(
        session.execute(
            select(Payout)
            .where(Payout.program_id == program_id, Payout.status.in_(list(statuses)))
            .order_by(Payout.created_at.desc(), Payout.id.desc())
            .limit(limit)
        ).scalars()
    )


def retried_ids(session: Session, payout_ids: Sequence[str]) -> set[str]:
    """Which of these payouts a retry replaced already."""
    if not payout_ids:
        return set()
    found = session.execute(select(Payout.retry_of_id).where(Payout.retry_of_id.in_(list(payout_ids)))).scalars()
    return {payout_id for payout_id in found if payout_id is not None}


def recent_runs(session: Session, program_id: str, limit: int) -> list[PayoutRun]:
    return list(
        session.execute(
            select(PayoutRun)
            .where(PayoutRun.program_id == program_id)
            .order_by(PayoutRun.created_at.desc(), PayoutRun.id.desc())
            .limit(limit)
        ).scalars()
    )


def run_figures(session: Session, run_ids: Sequence[str]) -> list[tuple[str, str, str, str, str, int, int]]:
    """(run id, method, delivery, currency, status, payouts, amount) of these runs' payouts."""
    if not run_ids:
        return []
    columns = (Payout.run_id, Payout.method, Payout.delivery, Payout.currency, Payout.status)
    rows = session.execute(
        select(*columns, func.count(), func.sum(Payout.amount))
        .where(Payout.run_id.in_(list(run_ids)))
        .group_by(*columns)
    ).all()
    return [(*row[:5], int(row[5]), int(row[6] or 0)) for row in rows]
