"""Clicks and conversions by device, country and referrer host: the channels report's breakdowns.

Clicks come from `click_dimension_rollups`, which `add_new_clicks` (run by the `reports.refresh_rollups`
job every minute) adds to from the clicks written since its last run: each click is taken in once, in id
order (ids are ULIDs made at the redirect), up to two minutes ago so that the click buffer has written
them. Conversions are grouped by the click that credited them (the event's, else its customer's).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from partnerloop.models import Click, ClickDimensionRollup, Commission, Customer, Event, Program, RollupState
from partnerloop.report.conversions import _commission_in, id_floor
from partnerloop.report.metrics import Figures
from partnerloop.report.rules import Window

DIMENSIONS = ("device", "country", "referrer_host")
ROLLUP = "click_dimensions"
WRITE_LAG = timedelta(minutes=2)  # the click buffer writes a click within seconds of its redirect
BATCH = 50_000  # clicks taken in per run at most (a first run over a large history catches up over runs)


def referrer_host(referrer: str | None) -> str:
    """The host a click came from ("" when none or not a URL), without a leading www."""
    if not referrer:
        return ""
    try:
        host = (urlsplit(referrer).hostname or "").lower()
    except ValueError:
        return ""
    return host.removeprefix("www.")[:255]


def value_of(dimension: str, device: str | None, country: str | None, referrer: str | None) -> str:
    if dimension == "device":
        return (device or "")[:255]
    if dimension == "country":
        return (country or "").lower()
    return referrer_host(referrer)


def add_new_clicks(session: Session, now: datetime) -> int:
    """Take the clicks written since the last run into the rollups; returns how many."""
    state = session.get(RollupState, ROLLUP, with_for_update=True)
    after = state.position if state is not None and state.position else ""
    before = id_floor(now - WRITE_LAG)
    rows = session.execute(
        select(Click.id, Click.program_id, Click.link_id, Click.partner_id, Click.created_at, Click.device,
               Click.country, Click.referrer, Click.is_bot, Click.is_unique)
        .where(Click.id > after, Click.id < before)
        .order_by(Click.id)
        .limit(BATCH)
    ).all()  # fmt: skip
    sums: dict[tuple[str, date, str, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for _id, program_id, link_id, partner_id, at, device, country, referrer, is_bot, is_unique in rows:
        for dimension in DIMENSIONS:
            key = (
                program_id,
                at.date(),
                link_id,
                partner_id,
                dimension,
                value_of(dimension, device, country, referrer),
            )
            cell = sums[key]
            cell[0] += 1
            cell[1] += 1 if is_unique else 0
            cell[2] += 1 if is_bot else 0
    if sums:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(ClickDimensionRollup)
        statement = statement.on_conflict_do_update(
            index_elements=["program_id", "day", "link_id", "dimension", "value"],
            set_={
                "clicks": ClickDimensionRollup.clicks + statement.excluded.clicks,
                "unique_clicks": ClickDimensionRollup.unique_clicks + statement.excluded.unique_clicks,
                "bot_clicks": ClickDimensionRollup.bot_clicks + statement.excluded.bot_clicks,
            },
        )
        session.execute(statement, [
            {"program_id": key[0], "day": key[1], "link_id": key[2], "partner_id": key[3], "dimension": key[4],
             "value": key[5], "clicks": cell[0], "unique_clicks": cell[1], "bot_clicks": cell[2]}
            for key, cell in sums.items()
        ])  # fmt: skip
    position = rows[-1][0] if rows else after or None
    if state is None:
        session.add(RollupState(name=ROLLUP, built_until=now, position=position))
    else:
        state.built_until = now
        state.position = position
    session.flush()
    return len(rows)


def dimension_figures(
    session: Session, program: Program, window: Window, dimension: str, partner_filter: Any = None
) -> dict[str, Figures]:
    """The window's clicks (whole UTC days, from the rollups) and conversions (from the crediting click)
    by one dimension's value ("(unknown)" when the click did not say)."""
    found: dict[str, Figures] = defaultdict(Figures)
    clicks = (
        select(ClickDimensionRollup.value, func.sum(ClickDimensionRollup.clicks),
               func.sum(ClickDimensionRollup.unique_clicks), func.sum(ClickDimensionRollup.bot_clicks))
        .where(ClickDimensionRollup.program_id == program.id, ClickDimensionRollup.dimension == dimension,
               ClickDimensionRollup.day >= window.first_day, ClickDimensionRollup.day <= window.last_day)
        .group_by(ClickDimensionRollup.value)
    )  # fmt: skip
    if partner_filter is not None:
        clicks = clicks.where(partner_filter(ClickDimensionRollup.partner_id))
    for value, total, unique, bots in session.execute(clicks):
        found[_name(str(value))] += Figures(clicks=int(total or 0), unique_clicks=int(unique or 0),
                                            bot_clicks=int(bots or 0))  # fmt: skip
    column = {"device": Click.device, "country": Click.country, "referrer_host": Click.referrer}[dimension]
    sale_value = func.coalesce(Event.program_amount, Event.amount, 0)
    earlier = aliased(Event)
    first_sale = ~(
        select(earlier.id)
        .where(earlier.customer_id == Event.customer_id, earlier.kind == "sale", earlier.occurred_at < Event.occurred_at)
        .exists()
    )  # fmt: skip
    events = (
        select(column,
               func.sum(case((Event.kind == "lead", 1), else_=0)),
               func.sum(case((Event.kind == "sale", 1), else_=0)),
               func.sum(case((Event.kind == "sale", sale_value), else_=0)),
               func.sum(case((Event.kind == "refund", sale_value), else_=0)),
               func.count(func.distinct(case((and_(Event.kind == "sale", first_sale), Event.customer_id)))))
        .select_from(Event)
        .join(Customer, Customer.id == Event.customer_id)
        .join(Click, Click.id == func.coalesce(Event.click_id, Customer.click_id))
        .where(Event.program_id == program.id, Event.partner_id.is_not(None), Event.occurred_at >= window.start,
               Event.occurred_at < window.end)
        .group_by(column)
    )  # fmt: skip
    if partner_filter is not None:
        events = events.where(partner_filter(Event.partner_id))
    for event_value, leads, sales, sold, refunded, customers in session.execute(events):
        found[_grouped(dimension, event_value)] += Figures(
            leads=int(leads or 0), sales=int(sales or 0), revenue_amount=int(sold or 0),
            refunds_amount=int(refunded or 0), new_customers=int(customers or 0))  # fmt: skip
    earned = (
        select(column, func.sum(Commission.earnings_amount))
        .select_from(Commission)
        .join(Click, Click.id == Commission.click_id)
        .where(Commission.program_id == program.id, Commission.earnings_currency == program.currency,
               Commission.status != "rejected", _commission_in(window.start, window.end))
        .group_by(column)
    )  # fmt: skip
    if partner_filter is not None:
        earned = earned.where(partner_filter(Commission.partner_id))
    for earned_value, total in session.execute(earned):
        found[_grouped(dimension, earned_value)] += Figures(commissions_amount=int(total or 0))
    return dict(found)


def _name(value: str) -> str:
    return value or "(unknown)"


def _grouped(dimension: str, value: Any) -> str:
    """A grouped column's value as the dimension names it (a referrer URL becomes its host)."""
    text = "" if value is None else str(value)
    return _name(
        referrer_host(text) if dimension == "referrer_host" else text.lower() if dimension == "country" else text
    )
