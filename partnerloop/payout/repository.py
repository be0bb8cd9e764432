"""All payout SQL, scoped by program. The run works set-based (INSERT … SELECT, UPDATE … FROM) so a
run over a million commissions never loads them into memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, insert, literal, select, update
from sqlalchemy.orm import Session

from partnerloop.kit.pagination import page_of, paginate
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
from partnerloop.payout.rules import PartnerTotal


def lock_program(session: Session, program_id: str) -> None:
    """Runs of one program take turns (PostgreSQL row lock; SQLite's writer lock already serializes)."""
    session.execute(select(Program.id).where(Program.id == program_id).with_for_update())


def partner_totals(session: Session, program_id: str, cutoff: datetime) -> list[PartnerTotal]:
    """Approved commissions past their hold at `cutoff`, netted per partner and currency."""
    rows = session.execute(
        select(
            Commission.partner_id,
            Commission.earnings_currency,
            func.sum(Commission.earnings_amount),
            func.count(),
        )
        .where(
            Commission.program_id == program_id,
            Commission.status == "approved",
            Commission.hold_until <= cutoff,
        )
        .group_by(Commission.partner_id, Commission.earnings_currency)
        .order_by(Commission.partner_id, Commission.earnings_currency)
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


def claim_commissions(session: Session, program_id: str, run_id: str, cutoff: datetime) -> int:
    """Put every approved commission past its hold into its partner's payout of this run; how many.

    The partial unique index on payout_items(commission_id) is the last guard: a commission already in
    an unreleased payout makes this fail rather than be paid twice."""
    chosen = (
        select(
            Commission.program_id,
            Payout.id,
            Commission.id,
            Commission.earnings_amount,
            literal(False),
        )
        .join(
            Payout,
            and_(
                Payout.run_id == run_id,
                Payout.partner_id == Commission.partner_id,
                Payout.source_currency == Commission.earnings_currency,
            ),
        )
        .where(
            Commission.program_id == program_id,
            Commission.status == "approved",
            Commission.hold_until <= cutoff,
        )
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


def mark_run_commissions_paid(session: Session, program_id: str, run_id: str, now: datetime) -> int:
    """Commission status `paid` for everything inside the run's payouts (one UPDATE … FROM); how many."""
    result = session.execute(
        update(Commission)
        .where(
            Commission.id == PayoutItem.commission_id,
            PayoutItem.payout_id == Payout.id,
            Payout.run_id == run_id,
            PayoutItem.released.is_(False),
            Commission.program_id == program_id,
            Commission.status == "approved",
        )
        .values(status="paid", status_changed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def release_items(session: Session, payout_id: str, now: datetime) -> int:
    """A failed or canceled payout lets go of its commissions: approved again, free for another payout."""
    inside = select(PayoutItem.commission_id).where(PayoutItem.payout_id == payout_id, PayoutItem.released.is_(False))
    session.execute(
        update(Commission)
        .where(Commission.id.in_(inside), Commission.status == "paid")
        .values(status="approved", status_changed_at=now)
        .execution_options(synchronize_session=False)
    )
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
    """The run's pending payouts of `method` not yet given to a provider batch, locked."""
    return list(
        session.execute(
            select(Payout)
            .where(
                Payout.run_id == run_id,
                Payout.method == method,
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
