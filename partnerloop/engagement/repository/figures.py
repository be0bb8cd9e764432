"""Engagement figures: per-partner metrics over a window, set-based (one query per figure for every partner
at once), read from the conversion events, click rollups and commissions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from partnerloop.kit.time import as_utc
from partnerloop.models import ClickRollup, Commission, Event, Program


def _scoped(statement: Any, column: Any, partner_ids: Sequence[str] | None) -> Any:
    return statement if partner_ids is None else statement.where(column.in_(partner_ids))


def metric_by_partner(
    session: Session,
    program_id: str,
    metric: str,
    start: datetime,
    end: datetime,
    partner_ids: Sequence[str] | None = None,
) -> dict[str, int]:
    """One metric for every partner with any of it in [start, end): revenue (sales less refunds, program
    currency, minor units), sales, leads, new_customers (customers whose first sale fell in the window),
    clicks, commissions_amount (earnings in the program's currency, reversals included)."""
    window = (
        Event.program_id == program_id,
        Event.occurred_at >= start,
        Event.occurred_at < end,
        Event.partner_id.is_not(None),
    )
    if metric == "revenue" or metric == "revenue_amount":
        sales = select(Event.partner_id, func.coalesce(func.sum(Event.program_amount), 0)).where(
            *window, Event.kind == "sale"
        )
        refunds = select(Event.partner_id, func.coalesce(func.sum(Event.program_amount), 0)).where(
            *window, Event.kind == "refund"
        )
        totals: dict[str, int] = {}
        for statement, sign in ((sales, 1), (refunds, -1)):
            statement = _scoped(statement, Event.partner_id, partner_ids).group_by(Event.partner_id)
            for partner_id, amount in session.execute(statement):
                totals[str(partner_id)] = totals.get(str(partner_id), 0) + sign * int(amount or 0)
        return totals
    if metric in ("sales", "leads"):
        statement = select(Event.partner_id, func.count()).where(*window, Event.kind == metric[:-1])
    elif metric == "new_customers":
        first_sales = (
            select(Event.customer_id, func.min(Event.occurred_at).label("first_at"))
            .where(Event.program_id == program_id, Event.kind == "sale")
            .group_by(Event.customer_id)
            .subquery()
        )
        statement = (
            select(Event.partner_id, func.count(func.distinct(Event.customer_id)))
            .join(
                first_sales,
                and_(first_sales.c.customer_id == Event.customer_id, first_sales.c.first_at == Event.occurred_at),
            )
            .where(*window, Event.kind == "sale")
        )
    elif metric == "clicks":
        statement = select(ClickRollup.partner_id, func.coalesce(func.sum(ClickRollup.clicks), 0)).where(
            ClickRollup.program_id == program_id, ClickRollup.day >= start.date(), ClickRollup.day < _day(end)
        )
        statement = _scoped(statement, ClickRollup.partner_id, partner_ids).group_by(ClickRollup.partner_id)
        return {str(partner_id): int(value) for partner_id, value in session.execute(statement)}
    elif metric == "commissions_amount":
        statement = select(Commission.partner_id, func.coalesce(func.sum(Commission.earnings_amount), 0)).where(
            Commission.program_id == program_id,
            Commission.occurred_at >= start,
            Commission.occurred_at < end,
            Commission.status.not_in(("rejected",)),
            Commission.earnings_currency == _program_currency(program_id),
        )
        statement = _scoped(statement, Commission.partner_id, partner_ids).group_by(Commission.partner_id)
        return {str(partner_id): int(value) for partner_id, value in session.execute(statement)}
    else:
        raise ValueError(f"unknown metric {metric}")
    statement = _scoped(statement, Event.partner_id, partner_ids).group_by(Event.partner_id)
    return {str(partner_id): int(value) for partner_id, value in session.execute(statement)}


def customer_payment_spans(
    session: Session, program_id: str, before: datetime, partner_ids: Sequence[str] | None = None
) -> dict[str, list[tuple[datetime, datetime]]]:
    """partner -> each of their customers' (first, last) sale before `before`: what retention is decided on."""
    statement = select(
        Event.partner_id, Event.customer_id, func.min(Event.occurred_at), func.max(Event.occurred_at)
    ).where(
        Event.program_id == program_id,
        Event.kind == "sale",
        Event.occurred_at < before,
        Event.partner_id.is_not(None),
    )
    statement = _scoped(statement, Event.partner_id, partner_ids).group_by(Event.partner_id, Event.customer_id)
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for partner_id, _customer_id, first, last in session.execute(statement):
        spans.setdefault(str(partner_id), []).append((as_utc(first), as_utc(last)))
    return spans


def _day(moment: datetime) -> date:
    return moment.date()


def _program_currency(program_id: str) -> Any:
    return select(Program.currency).where(Program.id == program_id).scalar_subquery()


FIGURE_METRICS = {
    "clicks": "clicks",
    "leads": "leads",
    "sales": "sales",
    "new_customers": "new_customers",
    "revenue_amount": "revenue",
    "commissions_amount": "commissions_amount",
}


def figures_by_partner(
    session: Session, program_id: str, start: datetime, end: datetime, partner_ids: Sequence[str] | None = None
) -> dict[str, dict[str, int]]:
    """Every review figure for every partner with activity in [start, end)."""
    figures: dict[str, dict[str, int]] = {}
    for figure, metric in FIGURE_METRICS.items():
        for partner_id, value in metric_by_partner(session, program_id, metric, start, end, partner_ids).items():
            figures.setdefault(partner_id, {})[figure] = value
    return figures


def last_sale_at(session: Session, program_id: str) -> dict[str, datetime]:
    rows = session.execute(
        select(Event.partner_id, func.max(Event.occurred_at))
        .where(Event.program_id == program_id, Event.kind == "sale", Event.partner_id.is_not(None))
        .group_by(Event.partner_id)
    ).all()
    return {str(partner_id): moment for partner_id, moment in rows}
