"""Commissions, and the facts pricing them needs (enrollments, volume, earned so far): all SQL, scoped by program."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, String, Table, and_, case, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from partnerloop.commission.rules import CommissionStatus
from partnerloop.db import insert_returning, xact_locks
from partnerloop.kit.ids import new_id
from partnerloop.kit.pagination import page_of, paginate
from partnerloop.models import Commission, Enrollment, Event, Group, Partner, Plan, Program
from partnerloop.partner.rules import EnrollmentStatus


def programs_by_id(session: Session, program_ids: set[str]) -> dict[str, Program]:
    if not program_ids:
        return {}
    return {row.id: row for row in session.execute(select(Program).where(Program.id.in_(program_ids))).scalars()}


def commissions_of_event(session: Session, event_id: str) -> list[Commission]:
    """The event's commissions, and the bonuses it triggered."""
    return list(
        session.execute(
            select(Commission)
            .where(or_(Commission.event_id == event_id, Commission.trigger_event_id == event_id))
            .order_by(Commission.id)
        ).scalars()
    )


def partner_facts(
    session: Session, program_id: str, partner_id: str, default_plan_id: str | None
) -> tuple[str | None, Group | None, Plan | None]:
    """The partner's country, the group of their enrollment in the program, and the program's plan that the
    enrollment's own plan id, else its group's, else `default_plan_id` names (None when missing), in one
    query. The caller still chooses the plan with plan/rules.choose_plan_id and checks the id."""
    chosen = func.coalesce(
        func.nullif(Enrollment.plan_id, ""), func.nullif(Group.plan_id, ""), literal(default_plan_id, String)
    )
    row = session.execute(
        select(Partner.country, Group, Plan)
        .select_from(Enrollment)
        .join(Partner, Partner.id == Enrollment.partner_id)
        .outerjoin(Group, Group.id == Enrollment.group_id)
        .outerjoin(Plan, (Plan.id == chosen) & (Plan.program_id == program_id))
        .where(Enrollment.program_id == program_id, Enrollment.partner_id == partner_id)
    ).one_or_none()
    return (None, None, None) if row is None else (row[0], row[1], row[2])


def partner_volume(
    session: Session,
    partner_id: str,
    *,
    kind: str,
    before: tuple[datetime, str],
    starts: dict[str, datetime | None],
) -> dict[str, tuple[int, int]]:
    """Per period: (count, program-currency amount) of the partner's events of `kind` before
    `before` = (time, event id) (same-time events count when their id is smaller), since each start
    (None: since ever). One query, one conditional sum per period."""
    at, event_id = before
    amount = func.coalesce(Event.program_amount, 0)
    columns: list[Any] = []
    for start in starts.values():
        if start is None:
            columns += [func.count(Event.id), func.sum(amount)]
        else:
            inside = Event.occurred_at >= start
            columns += [func.sum(case((inside, 1), else_=0)), func.sum(case((inside, amount), else_=0))]
    where = [
        Event.partner_id == partner_id,
        Event.kind == kind,
        or_(Event.occurred_at < at, and_(Event.occurred_at == at, Event.id < event_id)),
    ]
    if None not in starts.values():  # no lifetime period: read only from the earliest start
        where.append(Event.occurred_at >= min(start for start in starts.values() if start is not None))
    row = session.execute(select(*columns).where(*where)).one()
    return {period: (int(row[2 * index] or 0), int(row[2 * index + 1] or 0)) for index, period in enumerate(starts)}


def customer_earned(session: Session, partner_id: str, customer_id: str) -> int:
    """What the partner earned from the customer so far (reversals deducted; rejected not counted)."""
    total = session.execute(
        select(func.sum(Commission.earnings_amount)).where(
            Commission.partner_id == partner_id,
            Commission.customer_id == customer_id,
            Commission.status != CommissionStatus.REJECTED.value,
        )
    ).scalar_one()
    return int(total or 0)


def period_earned(
    session: Session, program_id: str, partner_id: str, starts: dict[str, datetime | None]
) -> dict[str, int]:
    """What the partner earned in the program since each start (by the events' times)."""
    columns = [
        func.sum(case((Commission.occurred_at >= start, Commission.earnings_amount), else_=0))
        if start is not None
        else func.sum(Commission.earnings_amount)
        for start in starts.values()
    ]
    row = session.execute(
        select(*columns).where(
            Commission.program_id == program_id,
            Commission.partner_id == partner_id,
            Commission.status != CommissionStatus.REJECTED.value,
        )
    ).one()
    return {period: int(row[index] or 0) for index, period in enumerate(starts)}


def taken_back(session: Session, original_ids: list[str]) -> dict[str, int]:
    """Per original commission: how much reversals and clawbacks took back so far (positive)."""
    if not original_ids:
        return {}
    rows = session.execute(
        select(Commission.reverses_id, func.sum(Commission.earnings_amount))
        .where(Commission.reverses_id.in_(original_ids), Commission.kind.in_(("reversal", "clawback")))
        .group_by(Commission.reverses_id)
    ).all()
    return {original_id: -int(total or 0) for original_id, total in rows}


def insert_bonus(session: Session, values: dict[str, Any]) -> Commission | None:
    """A bonus once per (program, partner, bonus key): the new row, or None when it was paid already."""
    commission: Commission | None = insert_returning(
        session, Commission, {"id": new_id(), **values}, ["program_id", "partner_id", "bonus_key"]
    )
    return commission


def approve_due(session: Session, now: datetime, limit: int) -> list[tuple[str, str, str, str, int]]:
    """Approve up to `limit` pending commissions past their hold (the longest due first) whose partner can earn
    (an approved enrollment: never a banned, rejected or deactivated one); (id, program, partner, currency,
    earnings) of each. The limit keeps one transaction's statements within PostgreSQL's 65,535 parameters."""

    def earning() -> Any:
        return select(Enrollment.id).where(
            Enrollment.program_id == Commission.program_id,
            Enrollment.partner_id == Commission.partner_id,
            Enrollment.status.in_([status.value for status in EnrollmentStatus if status.can_earn]),
        )

    due = (
        select(Commission.id)
        .where(Commission.status == CommissionStatus.PENDING.value, Commission.hold_until <= now, earning().exists())
        .order_by(Commission.hold_until, Commission.id)
        .limit(limit)
    )
    locked = earning()
    if session.get_bind().dialect.name == "postgresql":
        # FOR SHARE waits for a ban in flight and rereads its enrollment: a commission the ban did not
        # see yet is not approved on the enrollment's old status (SQLite writers are serialized anyway).
        locked = locked.with_for_update(read=True)
    rows = session.execute(
        update(Commission)
        .where(
            Commission.id.in_(due.scalar_subquery()),
            Commission.status == CommissionStatus.PENDING.value,
            Commission.hold_until <= now,
            locked.exists(),
        )
        .values(status=CommissionStatus.APPROVED.value, status_changed_at=now)
        .returning(
            Commission.id,
            Commission.program_id,
            Commission.partner_id,
            Commission.earnings_currency,
            Commission.earnings_amount,
        )
        .execution_options(synchronize_session=False)
    ).all()
    return [(row[0], row[1], row[2], row[3], int(row[4])) for row in rows]


def lock_commissions(session: Session, program_id: str, commission_ids: list[str]) -> list[Commission]:
    """The program's commissions among the ids, locked for update (PostgreSQL), in id order."""
    if not commission_ids:
        return []
    return list(
        session.execute(
            select(Commission)
            .where(Commission.program_id == program_id, Commission.id.in_(commission_ids))
            .order_by(Commission.id)
            .with_for_update()
        ).scalars()
    )


def payable_at(cutoff: datetime) -> ColumnElement[bool]:
    """`rules.is_payable_at` as SQL, the one place it is written: the commissions a run at `cutoff` pays."""
    payable = [status.value for status in CommissionStatus if status.is_payable]
    return and_(Commission.status.in_(payable), Commission.hold_until <= cutoff)


def _move_all(
    session: Session,
    program_id: str,
    commission_ids: Select[str],
    old: CommissionStatus,
    new: CommissionStatus,
    now: datetime,
) -> int:
    """old -> new for the program's commissions among `commission_ids` (one UPDATE); how many."""
    result = session.execute(
        update(Commission)
        .where(Commission.program_id == program_id, Commission.status == old.value, Commission.id.in_(commission_ids))
        .values(status=new.value, status_changed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def mark_paid(session: Session, program_id: str, commission_ids: Select[str], now: datetime) -> int:
    """approved -> paid for the program's commissions among `commission_ids`; how many."""
    return _move_all(session, program_id, commission_ids, CommissionStatus.APPROVED, CommissionStatus.PAID, now)


def release_paid(session: Session, program_id: str, commission_ids: Select[str], now: datetime) -> int:
    """paid -> approved for the program's commissions among `commission_ids`; how many."""
    return _move_all(session, program_id, commission_ids, CommissionStatus.PAID, CommissionStatus.APPROVED, now)


def reversed_by_original(session: Session, sale_id: str) -> dict[str, int]:
    """Per original commission of the sale: how much its reversals took back so far (positive)."""
    refund_ids = select(Event.id).where(Event.sale_event_id == sale_id, Event.kind == "refund")
    rows = session.execute(
        select(Commission.reverses_id, func.sum(Commission.earnings_amount))
        .where(Commission.event_id.in_(refund_ids), Commission.kind == "reversal")
        .group_by(Commission.reverses_id)
    ).all()
    return {original_id: -int(total or 0) for original_id, total in rows}


def reversals_of(session: Session, original: Commission) -> list[Commission]:
    """The refund reversals and clawbacks of a commission."""
    return list(
        session.execute(
            select(Commission)
            .where(Commission.partner_id == original.partner_id, Commission.reverses_id == original.id)
            .order_by(Commission.id)
        ).scalars()
    )


def insert_commission(session: Session, values: dict[str, Any]) -> Commission | None:
    """One commission per (event, partner, reversed original): the new row, or None when it existed."""
    commission: Commission | None = insert_returning(
        session, Commission, {"id": new_id(), **values}, ["event_id", "partner_id", "reverses_id"]
    )
    return commission


def insert_commissions_by_id(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Many commissions at once; rows whose id exists already are skipped. The rows inserted."""
    if not rows:
        return []
    # An executemany of one cached statement (SQLAlchemy batches it into multi-row INSERTs with RETURNING):
    # a statement built with .values(rows) is compiled anew for each batch, ~1 ms a row for a click batch.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, Commission.__table__)
    statement = insert(table).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
    new_ids = set(session.execute(statement, rows).scalars())
    return [row for row in rows if row["id"] in new_ids]


def click_earners(
    session: Session, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[Enrollment, str | None, Group | None]]:
    """Per (program_id, partner_id): the enrollment, the partner's country and the enrollment's group."""
    if not pairs:
        return {}
    rows = session.execute(
        select(Enrollment, Partner.country, Group)
        .join(Partner, Partner.id == Enrollment.partner_id)
        .outerjoin(Group, Group.id == Enrollment.group_id)
        .where(Enrollment.partner_id.in_({partner_id for _, partner_id in pairs}))
    ).all()
    return {
        (row[0].program_id, row[0].partner_id): (row[0], row[1], row[2])
        for row in rows
        if (row[0].program_id, row[0].partner_id) in pairs
    }


def lock_click_days(session: Session, keys: list[str]) -> None:
    """PostgreSQL: take each (program, partner, day) key's transaction lock, in order, so that concurrent click
    writers count a partner's click earnings of a day one after the other. SQLite writers are serialized."""
    xact_locks(session, keys)


def click_day_tallies(
    session: Session, pairs: set[tuple[str, str]], days: list[datetime]
) -> dict[tuple[str, str, datetime], tuple[int, int]]:
    """(count, earnings) of the click commissions of each (program, partner) on each UTC day starting at one
    of `days`; every status counts (a rejected click still used up its day's room). Missing: none."""
    if not pairs or not days:
        return {}
    days = sorted(set(days))
    columns: list[Any] = []
    for day in days:
        inside = and_(Commission.occurred_at >= day, Commission.occurred_at < day + timedelta(days=1))
        columns += [func.sum(case((inside, 1), else_=0)), func.sum(case((inside, Commission.earnings_amount), else_=0))]
    rows = session.execute(
        select(Commission.program_id, Commission.partner_id, *columns)
        .where(
            Commission.partner_id.in_({partner_id for _, partner_id in pairs}),
            Commission.kind == "click",
            Commission.occurred_at >= days[0],
            Commission.occurred_at < days[-1] + timedelta(days=1),
        )
        .group_by(Commission.program_id, Commission.partner_id)
    ).all()
    tallies: dict[tuple[str, str, datetime], tuple[int, int]] = {}
    for row in rows:
        if (row[0], row[1]) not in pairs:
            continue
        for index, day in enumerate(days):
            tallies[(row[0], row[1], day)] = (int(row[2 + 2 * index] or 0), int(row[3 + 2 * index] or 0))
    return tallies


def get_commission(session: Session, program_id: str, commission_id: str, *, lock: bool = False) -> Commission | None:
    statement = select(Commission).where(Commission.id == commission_id, Commission.program_id == program_id)
    if lock:
        statement = statement.with_for_update()  # PostgreSQL; SQLite writers are serialized anyway
    return session.execute(statement).scalar_one_or_none()


def list_commissions(
    session: Session,
    program_id: str,
    *,
    partner_id: str | None,
    status: str | None,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Commission], str | None]:
    statement = select(Commission).where(Commission.program_id == program_id)
    if partner_id:
        statement = statement.where(Commission.partner_id == partner_id)
    if status:
        statement = statement.where(Commission.status == status)
    if kind:
        statement = statement.where(Commission.kind == kind)
    rows = list(session.execute(paginate(statement, Commission.id, cursor, limit)).scalars())
    return page_of(rows, limit, lambda commission: commission.id)


def unpaid_commissions_of(session: Session, program_id: str, partner_id: str) -> list[Commission]:
    """The partner's pending, on-hold and approved commissions in the program (reversals and clawbacks
    among them), locked for update (PostgreSQL), in id order."""
    unpaid = (CommissionStatus.PENDING.value, CommissionStatus.ON_HOLD.value, CommissionStatus.APPROVED.value)
    return list(
        session.execute(
            select(Commission)
            .where(
                Commission.program_id == program_id,
                Commission.partner_id == partner_id,
                Commission.status.in_(unpaid),
            )
            .order_by(Commission.id)
            .with_for_update()
        ).scalars()
    )


# ---------------------------------------------------------------- figures the dashboard reads


def _moment() -> Any:
    """When a commission counts in a window: its event's time, else its creation."""
    return func.coalesce(Commission.occurred_at, Commission.created_at)


def _counted(program_id: str, since: datetime | None, before: datetime | None) -> list[Any]:
    """Commissions that count as earned (not rejected) in [since, before)."""
    where = [Commission.program_id == program_id, Commission.status != CommissionStatus.REJECTED]
    if since is not None:
        where.append(_moment() >= since)
    if before is not None:
        where.append(_moment() < before)
    return where


def earned_by_currency(
    session: Session, program_id: str, since: datetime | None, before: datetime | None, partner_id: str | None
) -> dict[str, int]:
    """Earnings per currency in the window (of `partner_id`, or of everyone)."""
    statement = select(Commission.earnings_currency, func.sum(Commission.earnings_amount)).where(
        *_counted(program_id, since, before)
    )
    if partner_id is not None:
        statement = statement.where(Commission.partner_id == partner_id)
    rows = session.execute(statement.group_by(Commission.earnings_currency)).all()
    return {str(currency): int(total or 0) for currency, total in rows}


def status_counts(session: Session, program_id: str) -> dict[str, int]:
    """How many commissions (not reversals) the program has in each status."""
    rows = session.execute(
        select(Commission.status, func.count())
        .where(Commission.program_id == program_id, Commission.kind != "reversal")
        .group_by(Commission.status)
    ).all()
    return {str(status): int(count) for status, count in rows}


def filtered(
    program_id: str,
    *,
    statuses: tuple[str, ...],
    partner_id: str,
    kind: str,
    partner_ids: tuple[str, ...] | None,
    commission_id: str,
    since: datetime | None,
    until: datetime | None,
) -> Select[Commission]:
    """The program's commissions with these statuses, partner, kind and event time in [since, until); with
    `partner_ids` and/or `commission_id`: only those partners' commissions or that one commission."""
    statement = select(Commission).where(Commission.program_id == program_id)
    if statuses:
        statement = statement.where(Commission.status.in_(statuses))
    if partner_id:
        statement = statement.where(Commission.partner_id == partner_id)
    if kind:
        statement = statement.where(Commission.kind == kind)
    chosen: list[ColumnElement[bool]] = []
    if partner_ids is not None:
        chosen.append(Commission.partner_id.in_(partner_ids))
    if commission_id:
        chosen.append(Commission.id == commission_id)
    if chosen:
        statement = statement.where(or_(*chosen))
    if since is not None:
        statement = statement.where(_moment() >= since)
    if until is not None:
        statement = statement.where(_moment() < until)
    return statement


def count_of(session: Session, statement: Select[Commission]) -> int:
    return int(session.execute(select(func.count()).select_from(statement.subquery())).scalar_one())


COMMISSION_ORDERS: dict[str, Any] = {
    "date": lambda: func.coalesce(Commission.occurred_at, Commission.created_at).desc(),  # when it happened
    "newest": lambda: Commission.created_at.desc(),  # when it was recorded
    "earnings": lambda: Commission.earnings_amount.desc(),
    "sale": lambda: func.coalesce(Commission.amount, 0).desc(),
}


def page_of_filtered(
    session: Session, statement: Select[Commission], offset: int, limit: int, order: str = "date"
) -> list[Commission]:
    """By `order` (a COMMISSION_ORDERS key: when it happened, newest first, by default), then newest id first."""
    by = COMMISSION_ORDERS.get(order, COMMISSION_ORDERS["date"])()
    ordered = statement.order_by(by, Commission.id.desc()).offset(offset).limit(limit)
    return list(session.execute(ordered).scalars())


def stream_filtered(session: Session, statement: Select[Commission], batch: int) -> Any:
    """Oldest first, fetched `batch` rows at a time."""
    ordered = statement.order_by(Commission.created_at, Commission.id).execution_options(yield_per=batch)
    return session.execute(ordered).scalars()


def sums_of_filtered(session: Session, statement: Select[Commission]) -> dict[str, int]:
    matching = statement.subquery()
    rows = session.execute(
        select(matching.c.earnings_currency, func.sum(matching.c.earnings_amount)).group_by(
            matching.c.earnings_currency
        )
    ).all()
    return {str(currency): int(total or 0) for currency, total in rows}


def partner_commissions(session: Session, program_id: str, partner_id: str, limit: int) -> list[Commission]:
    return list(
        session.execute(
            select(Commission)
            .where(Commission.program_id == program_id, Commission.partner_id == partner_id)
            .order_by(Commission.created_at.desc())
            .limit(limit)
        ).scalars()
    )


def has_commissions(session: Session, program_id: str) -> bool:
    return (
        session.execute(select(Commission.id).where(Commission.program_id == program_id).limit(1)).first() is not None
    )
