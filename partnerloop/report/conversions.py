"""Conversions per (UTC day, partner, link, credit source): from the rollups where they are built, from
the events themselves for the rest.

`conversion_rollups` holds whole UTC days, rebuilt by `refresh` (the `reports.refresh_rollups` job, every
minute) for every day an event or commission was written or changed since its last run. A read of a
window sums the rollup rows of the whole days inside it that nothing has touched since the last build
(minus a safety margin for transactions still open then), and groups the events of the rest (the window's
partial first and last days, and the days touched since) the same way: both give the same cells, which
`tests/report/test_rollups.py` checks. Each day also has the program's own row (partner, link and source
""), the sum of its cells: what a time series of the whole program reads, one row a day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select
from sqlalchemy.orm import Session, aliased
from ulid import ULID

from partnerloop.models import Click, Commission, ConversionRollup, Customer, Event, Program, RollupState
from partnerloop.report.metrics import Figures
from partnerloop.report.rules import Window

ROLLUP = "conversions"
PROGRAM = ""  # the partner_id (and link_id, source) of a program's own row per day: its cells summed
SAFETY = timedelta(minutes=10)  # longer than any transaction that writes events or commissions
_NOT_COUNTED = ("rejected",)
Cell = tuple[date, str, str, str]  # day, partner id, link id ("" none), source


def _day(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _midnight(day: date, like: datetime) -> datetime:
    return datetime.combine(day, time.min, tzinfo=like.tzinfo)


def _sale_value() -> Any:
    return func.coalesce(Event.program_amount, Event.amount, 0)


def _source(event: Any, customer: Any) -> Any:
    return case(
        (event.id.is_(None), "other"),
        (event.coupon_code.is_not(None), "coupon"),
        (func.coalesce(event.click_id, customer.click_id).is_not(None), "link"),
        else_="referral_code",
    )


def _add(cells: dict[Cell, dict[str, int]], key: Cell, **values: int) -> None:
    cell = cells[key]
    for name, value in values.items():
        cell[name] = cell.get(name, 0) + int(value or 0)


def _commission_in(start: datetime, end: datetime) -> Any:
    """A commission's moment (when its event happened, else when it was made) in [start, end), in a form
    the indexes serve: occurred_at has one, and the id (a ULID) stands for the creation time."""
    return or_(
        and_(Commission.occurred_at >= start, Commission.occurred_at < end),
        and_(Commission.occurred_at.is_(None), Commission.id >= id_floor(start), Commission.id < id_floor(end)),
    )


def raw_cells(session: Session, program: Program, start: datetime, end: datetime,
              partner_filter: Any = None) -> dict[Cell, dict[str, int]]:  # fmt: skip
    """The cells of `start <= moment < end` grouped from the events and commissions themselves."""
    cells: dict[Cell, dict[str, int]] = defaultdict(dict)
    day = _day(session, Event.occurred_at)
    link = func.coalesce(Click.link_id, "")
    source = _source(Event, Customer)
    earlier = aliased(Event)
    first_sale = ~(
        select(earlier.id)
        .where(earlier.customer_id == Event.customer_id, earlier.kind == "sale", earlier.occurred_at < Event.occurred_at)
        .exists()
    )  # fmt: skip
    events = (
        select(day, Event.partner_id, link, source,
               func.sum(case((Event.kind == "lead", 1), else_=0)),
               func.sum(case((Event.kind == "sale", 1), else_=0)),
               func.sum(case((Event.kind == "sale", _sale_value()), else_=0)),
               func.sum(case((Event.kind == "refund", _sale_value()), else_=0)),
               func.count(func.distinct(case((and_(Event.kind == "sale", first_sale), Event.customer_id)))))
        .select_from(Event)
        .join(Customer, Customer.id == Event.customer_id)
        .outerjoin(Click, Click.id == func.coalesce(Event.click_id, Customer.click_id))
        .where(Event.program_id == program.id, Event.partner_id.is_not(None), Event.occurred_at >= start,
               Event.occurred_at < end)
        .group_by(day, Event.partner_id, link, source)
    )  # fmt: skip
    if partner_filter is not None:
        events = events.where(partner_filter(Event.partner_id))
    for on, partner, link_id, kind, leads, sales, sold, refunded, customers in session.execute(events):
        _add(cells, (_as_date(on), str(partner), str(link_id), str(kind)), leads=leads, sales=sales,
             revenue_amount=sold, refunds_amount=refunded, new_customers=customers)  # fmt: skip

    moment = func.coalesce(Commission.occurred_at, Commission.created_at)
    commission_day = _day(session, moment)
    event = aliased(Event)
    customer = aliased(Customer)
    commission_link = func.coalesce(Click.link_id, "")
    commission_source = _source(event, customer)
    earned = (
        select(commission_day, Commission.partner_id, commission_link, commission_source,
               func.sum(Commission.earnings_amount))
        .select_from(Commission)
        .outerjoin(event, event.id == func.coalesce(Commission.event_id, Commission.trigger_event_id))
        .outerjoin(customer, customer.id == event.customer_id)
        .outerjoin(Click, Click.id == Commission.click_id)
        .where(Commission.program_id == program.id, Commission.earnings_currency == program.currency,
               Commission.status.not_in(_NOT_COUNTED), _commission_in(start, end))
        .group_by(commission_day, Commission.partner_id, commission_link, commission_source)
    )  # fmt: skip
    if partner_filter is not None:
        earned = earned.where(partner_filter(Commission.partner_id))
    for on, partner, link_id, kind, total in session.execute(earned):
        _add(cells, (_as_date(on), str(partner), str(link_id), str(kind)), commissions_amount=total)
    return cells


def built_until(session: Session) -> datetime | None:
    state = session.get(RollupState, ROLLUP)
    return state.built_until if state is not None else None


def id_floor(moment: datetime) -> str:
    """The smallest id new_id() can make at `moment` (ids are ULIDs: time first), for index range scans
    where there is no index on the creation time. Before 1970 (no ULID's time) it is below every id."""
    if moment.timestamp() < 0:  # a report from year 1: ULIDs count milliseconds since 1970, unsigned
        return "0" * 26
    return str(ULID.from_datetime(moment)).lower()[:10] + "0" * 16


def touched_days(
    session: Session, program_id: str | None, since: datetime, *, status_changes: bool = False
) -> dict[str, set[date]]:
    """Per program, the UTC days whose cells changed since `since`: days of events and commissions
    written since (found by id: ULIDs are time-ordered), every sale day of a customer with a sale written
    since (an earlier first sale moves which day counts them as new), and with `status_changes` the days
    of commissions whose status changed since (a rejected one stops counting; that needs a scan, so only
    the rollup job asks)."""
    found: dict[str, set[date]] = defaultdict(set)
    floor = id_floor(since)
    event_day = _day(session, Event.occurred_at)
    events = select(Event.program_id, event_day).where(Event.id >= floor).distinct()
    moment = func.coalesce(Commission.occurred_at, Commission.created_at)
    changed = Commission.id >= floor
    if status_changes:
        changed = or_(changed, Commission.status_changed_at >= since)
    commissions = select(Commission.program_id, _day(session, moment)).where(changed).distinct()
    recent_buyers = select(Event.customer_id).where(Event.id >= floor, Event.kind == "sale")
    their_sales = (
        select(Event.program_id, event_day).where(Event.kind == "sale", Event.customer_id.in_(recent_buyers)).distinct()
    )
    for statement in (events, commissions, their_sales):
        if program_id is not None:
            statement = statement.where(statement.selected_columns[0] == program_id)
        for program, on in session.execute(statement):
            if on is not None:
                found[str(program)].add(_as_date(on))
    return found


def _ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


DIMENSIONS = ("day", "partner", "link", "source")


def _rollup_column(dimension: str) -> Any:
    return {"day": ConversionRollup.day, "partner": ConversionRollup.partner_id, "link": ConversionRollup.link_id,
            "source": ConversionRollup.source}[dimension]  # fmt: skip


def cells(
    session: Session,
    program: Program,
    window: Window,
    partner_filter: Any = None,
    dims: tuple[str, ...] = DIMENSIONS,
) -> dict[tuple[Any, ...], Figures]:
    """The window's conversions grouped by `dims` (of day, partner, link, source): the rollup rows of the
    untouched whole days summed by the database, the events grouped for the rest."""
    built = built_until(session)
    starts_at_midnight = window.start == _midnight(window.start.date(), window.start)
    first_whole = window.start.date() if starts_at_midnight else window.start.date() + timedelta(days=1)
    last_whole = window.end.date() - timedelta(days=1)
    raw_spans: list[tuple[datetime, datetime]] = []
    rolled: list[tuple[date, date]] = []
    if built is None or first_whole > last_whole:
        raw_spans.append((window.start, window.end))
    else:
        dirty = touched_days(session, program.id, built - SAFETY).get(program.id, set())
        if window.start < _midnight(first_whole, window.start):
            raw_spans.append((window.start, _midnight(first_whole, window.start)))
        after_whole = _midnight(last_whole + timedelta(days=1), window.end)
        if after_whole < window.end:
            raw_spans.append((after_whole, window.end))
        inside = {day for day in dirty if first_whole <= day <= last_whole}
        for first, last in _ranges(inside):
            raw_spans.append((_midnight(first, window.start), _midnight(last + timedelta(days=1), window.start)))
        clean = [first_whole + timedelta(days=offset) for offset in range((last_whole - first_whole).days + 1)]
        rolled = _ranges(day for day in clean if day not in inside)
    positions = [DIMENSIONS.index(name) for name in dims]
    found: dict[tuple[Any, ...], Figures] = defaultdict(Figures)
    for start, end in raw_spans:
        for cell, values in raw_cells(session, program, start, end, partner_filter).items():
            key = tuple(cell[position] for position in positions)
            found[key] = found[key] + Figures(**values)
    for first, last in rolled:
        for row in session.execute(_rolled(program, first, last, dims, partner_filter)):
            key = tuple(
                _as_date(value) if name == "day" else str(value) for name, value in zip(dims, row, strict=False)
            )
            leads, sales, customers, sold, refunded, earned = (int(value or 0) for value in row[len(dims) :])
            if not (leads or sales or customers or sold or refunded or earned):
                continue  # an empty sum (no rollup row in the range)
            found[key] = found[key] + Figures(leads=leads, sales=sales, new_customers=customers, revenue_amount=sold,
                                              refunds_amount=refunded, commissions_amount=earned)  # fmt: skip
    return dict(found)


def _rolled(program: Program, first: date, last: date, dims: tuple[str, ...], partner_filter: Any) -> Any:
    """The rollup rows of the days first..last summed by `dims`: the program's own row of each day when
    neither a partner, a link nor a source is asked for (one row a day, not hundreds), else the cells."""
    columns = [_rollup_column(name) for name in dims]
    statement = (
        select(*columns, func.sum(ConversionRollup.leads), func.sum(ConversionRollup.sales),
               func.sum(ConversionRollup.new_customers), func.sum(ConversionRollup.revenue_amount),
               func.sum(ConversionRollup.refunds_amount), func.sum(ConversionRollup.commissions_amount))
        .where(ConversionRollup.program_id == program.id, ConversionRollup.day >= first,
               ConversionRollup.day <= last)
    )  # fmt: skip
    if columns:
        statement = statement.group_by(*columns)
    if partner_filter is not None:
        statement = statement.where(partner_filter(ConversionRollup.partner_id))
    if partner_filter is None and not set(dims) & {"partner", "link", "source"}:
        return statement.where(ConversionRollup.partner_id == PROGRAM)
    return statement.where(ConversionRollup.partner_id != PROGRAM)


def refresh(session: Session, now: datetime) -> int:
    """Rebuild the rollup rows of every day touched since the last build (all days the first time);
    returns the days rebuilt."""
    state = session.get(RollupState, ROLLUP, with_for_update=True)
    since = datetime(1970, 1, 1, tzinfo=now.tzinfo) if state is None else state.built_until - SAFETY
    rebuilt = 0
    for program_id, days in touched_days(session, None, since, status_changes=True).items():
        program = session.get(Program, program_id)
        if program is None:
            continue
        for first, last in _ranges(days):
            start, end = _midnight(first, now), _midnight(last + timedelta(days=1), now)
            computed = raw_cells(session, program, start, end)
            for key, values in list(computed.items()):  # and each day's cells summed: the program's row
                _add(computed, (key[0], PROGRAM, PROGRAM, PROGRAM), **values)
            session.execute(delete(ConversionRollup).where(
                ConversionRollup.program_id == program_id, ConversionRollup.day >= first, ConversionRollup.day <= last))  # fmt: skip
            rows = [{"program_id": program_id, "day": key[0], "partner_id": key[1], "link_id": key[2],
                     "source": key[3], **{name: values.get(name, 0) for name in (
                         "leads", "sales", "new_customers", "revenue_amount", "refunds_amount", "commissions_amount")}}
                    for key, values in computed.items()]  # fmt: skip
            if rows:
                session.execute(insert(ConversionRollup), rows)
            rebuilt += (last - first).days + 1
    if state is None:
        session.add(RollupState(name=ROLLUP, built_until=now))
    else:
        state.built_until = now
    session.flush()
    return rebuilt
