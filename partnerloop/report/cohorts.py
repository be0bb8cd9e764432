"""Cohorts: the customers partners brought, by the month of their first sale, and the net revenue each
month's cohort paid month by month since (lifetime value as it accrues). Grouped from the events by the
database (one row per cohort month and payment month)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from partnerloop.models import Event, Program
from partnerloop.report.metrics import per
from partnerloop.report.rules import Window


def _month(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _months_between(first: str, later: str) -> int:
    return (int(later[:4]) - int(first[:4])) * 12 + int(later[5:7]) - int(first[5:7])


def cohorts(session: Session, program: Program, window: Window, partner_filter: Any = None) -> list[dict[str, Any]]:
    """Per month whose first sales fall in the window: its customers, and per month since, the net
    revenue, the cumulative net revenue per customer (LTV so far) and the commissions' share of it."""
    firsts = (
        select(Event.customer_id.label("customer_id"), func.min(Event.occurred_at).label("first_at"))
        .where(Event.program_id == program.id, Event.kind == "sale", Event.partner_id.is_not(None))
        .group_by(Event.customer_id)
    )
    if partner_filter is not None:
        firsts = firsts.where(partner_filter(Event.partner_id))
    first = firsts.subquery()
    cohort_month = _month(session, first.c.first_at)
    in_window = (first.c.first_at >= window.start) & (first.c.first_at < window.end)
    sizes: dict[str, int] = {
        str(month): int(count)
        for month, count in session.execute(select(cohort_month, func.count()).where(in_window).group_by(cohort_month))
    }
    value = func.coalesce(Event.program_amount, Event.amount, 0)
    paid_month = _month(session, Event.occurred_at)
    rows = session.execute(
        select(cohort_month, paid_month,
               func.sum(case((Event.kind == "sale", value), (Event.kind == "refund", -value), else_=0)))
        .select_from(Event)
        .join(first, first.c.customer_id == Event.customer_id)
        .where(Event.program_id == program.id, Event.kind.in_(("sale", "refund")), in_window,
               Event.occurred_at < window.end)
        .group_by(cohort_month, paid_month)
    ).all()  # fmt: skip
    revenue: dict[str, dict[int, int]] = defaultdict(dict)
    for cohort, paid, amount in rows:
        offset = _months_between(str(cohort), str(paid))
        revenue[str(cohort)][offset] = revenue[str(cohort)].get(offset, 0) + int(amount or 0)
    out = []
    for cohort in sorted(sizes):
        customers = sizes[cohort]
        months = revenue.get(cohort, {})
        last = max(months, default=0)
        cumulative = 0
        series = []
        for offset in range(last + 1):
            cumulative += months.get(offset, 0)
            series.append({"month": offset, "net_revenue_amount": months.get(offset, 0),
                           "ltv_amount": per(cumulative, customers)})  # fmt: skip
        out.append({"cohort": cohort, "customers": customers, "net_revenue_amount": cumulative,
                    "ltv_amount": per(cumulative, customers), "months": series})  # fmt: skip
    return out
