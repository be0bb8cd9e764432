"""Plans, always through the program's scope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from partnerloop.kit.pagination import page_of, paginate
from partnerloop.models import Commission, Customer, Enrollment, Event, Group, Partner, Plan
from partnerloop.models.conversion import CommissionKind, CommissionStatus

FirstSale = aliased(Event)
Refund = aliased(Event)
Valued = aliased(Event)


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


# ---------------------------------------------------------------- the simulator's reads (nothing is written)


def partners_of(session: Session, program_id: str) -> dict[str, tuple[str, str | None, str | None, str | None]]:
    """Every enrolled partner: id -> (name, country, group id, group name)."""
    rows = session.execute(
        select(Partner.id, Partner.name, Partner.country, Group.id, Group.name)
        .select_from(Enrollment)
        .join(Partner, Partner.id == Enrollment.partner_id)
        .outerjoin(Group, Group.id == Enrollment.group_id)
        .where(Enrollment.program_id == program_id)
    ).all()
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


def volume_before(
    session: Session, program_id: str, kind: str, since: datetime | None, until: datetime
) -> dict[str, tuple[int, int]]:
    """Per partner: (count, program-currency amount) of their events of `kind` in [since, until)."""
    where = [
        Event.program_id == program_id,
        Event.kind == kind,
        Event.partner_id.is_not(None),
        Event.occurred_at < until,
    ]
    if since is not None:
        where.append(Event.occurred_at >= since)
    rows = session.execute(
        select(Event.partner_id, func.count(), func.sum(func.coalesce(Event.program_amount, 0)))
        .where(*where)
        .group_by(Event.partner_id)
    ).all()
    return {str(row[0]): (int(row[1]), int(row[2] or 0)) for row in rows}


def earned_before(
    session: Session, program_id: str, until: datetime, since: datetime | None = None, *, by_customer: bool = False
) -> dict[tuple[str, str | None], int]:
    """Recorded earnings (not rejected) of events in [since, until), per partner (and customer)."""
    where = [
        Commission.program_id == program_id,
        Commission.status != CommissionStatus.REJECTED,
        Commission.occurred_at < until,
    ]
    if since is not None:
        where.append(Commission.occurred_at >= since)
    if by_customer:
        where.append(Commission.customer_id.is_not(None))
        by_pair = select(Commission.partner_id, Commission.customer_id, func.sum(Commission.earnings_amount))
        grouped = by_pair.where(*where).group_by(Commission.partner_id, Commission.customer_id)
        return {(str(row[0]), str(row[1])): int(row[2] or 0) for row in session.execute(grouped).all()}
    by_partner = select(Commission.partner_id, func.sum(Commission.earnings_amount)).where(*where)
    rows = session.execute(by_partner.group_by(Commission.partner_id)).all()
    return {(str(row[0]), None): int(row[1] or 0) for row in rows}


def window_events(session: Session, program_id: str, start: datetime, end: datetime, batch: int) -> Iterator[Any]:
    """The window's leads and sales credited to a partner, in time order, streamed `batch` rows at a time,
    each with its customer's country and metadata, the customer's first sale time, and what was
    refunded of it before the window's end (in its own and in the program's currency)."""
    first_sale = (
        select(func.min(FirstSale.occurred_at))
        .where(FirstSale.customer_id == Event.customer_id, FirstSale.kind == "sale")
        .scalar_subquery()
    )
    refunded = (
        select(func.coalesce(func.sum(Refund.amount), 0))
        .where(Refund.sale_event_id == Event.id, Refund.kind == "refund", Refund.occurred_at < end)
        .scalar_subquery()
    )
    refunded_converted = (
        select(func.coalesce(func.sum(Refund.program_amount), 0))
        .where(Refund.sale_event_id == Event.id, Refund.kind == "refund", Refund.occurred_at < end)
        .scalar_subquery()
    )
    statement = (
        select(
            Event.id,
            Event.kind,
            Event.partner_id,
            Event.customer_id,
            Event.amount,
            Event.currency,
            Event.program_amount,
            Event.fx_rate,
            Event.product_id,
            Event.coupon_code,
            Event.occurred_at,
            Customer.country,
            Customer.metadata_,
            first_sale,
            refunded,
            refunded_converted,
        )
        .join(Customer, Customer.id == Event.customer_id)
        .where(
            Event.program_id == program_id,
            Event.kind.in_(("sale", "lead")),
            Event.partner_id.is_not(None),
            Event.occurred_at >= start,
            Event.occurred_at < end,
        )
        .order_by(Event.occurred_at, Event.id)
        .execution_options(yield_per=batch)
    )
    yield from session.execute(statement)


def recorded_in_window(session: Session, program_id: str, start: datetime, end: datetime) -> dict[str, int]:
    """Per partner: what the plans in force earned for the window's leads and sales (and the bonuses
    they triggered), less the reversals of refunds before the window's end; rejected ones left out."""
    earned = dict(
        session.execute(
            select(Commission.partner_id, func.sum(Commission.earnings_amount))
            .where(
                Commission.program_id == program_id,
                Commission.kind.in_((CommissionKind.SALE, CommissionKind.LEAD, CommissionKind.BONUS)),
                Commission.status != CommissionStatus.REJECTED,
                Commission.occurred_at >= start,
                Commission.occurred_at < end,
            )
            .group_by(Commission.partner_id)
        ).all()
    )
    original = aliased(Commission)
    reversed_rows = session.execute(
        select(Commission.partner_id, func.sum(Commission.earnings_amount))
        .join(original, original.id == Commission.reverses_id)
        .where(
            Commission.program_id == program_id,
            Commission.kind == CommissionKind.REVERSAL,
            Commission.status != CommissionStatus.REJECTED,
            Commission.occurred_at < end,
            original.status != CommissionStatus.REJECTED,
            original.occurred_at >= start,
            original.occurred_at < end,
        )
        .group_by(Commission.partner_id)
    ).all()
    totals = {str(partner_id): int(total or 0) for partner_id, total in earned.items()}
    for partner_id, total in reversed_rows:
        totals[str(partner_id)] = totals.get(str(partner_id), 0) + int(total or 0)
    return totals


def customer_values(session: Session, program_id: str, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """Per partner: (customers with a sale in the window, those customers' lifetime value), the value
    being all their sales less refunds up to the window's end, in the program's currency."""
    window_customers = (
        select(Event.partner_id, Event.customer_id)
        .where(
            Event.program_id == program_id,
            Event.kind == "sale",
            Event.partner_id.is_not(None),
            Event.occurred_at >= start,
            Event.occurred_at < end,
        )
        .distinct()
        .subquery()
    )
    signed = case(
        (Valued.kind == "refund", -func.coalesce(Valued.program_amount, 0)),
        else_=func.coalesce(Valued.program_amount, 0),
    )
    # Correlated per customer (an index look-up each): SQLite cannot index a join on a grouped subquery.
    value = (
        select(func.coalesce(func.sum(signed), 0))
        .where(
            Valued.customer_id == window_customers.c.customer_id,
            Valued.kind.in_(("sale", "refund")),
            Valued.occurred_at < end,
        )
        .scalar_subquery()
    )
    rows = session.execute(
        select(window_customers.c.partner_id, func.count(), func.sum(value))
        .select_from(window_customers)
        .group_by(window_customers.c.partner_id)
    ).all()
    return {str(row[0]): (int(row[1]), int(row[2] or 0)) for row in rows}


def plans_of(session: Session, program_id: str) -> list[Plan]:
    """Oldest first."""
    return list(session.execute(select(Plan).where(Plan.program_id == program_id).order_by(Plan.created_at)).scalars())
