"""Click rewards: the click writer prices each batch's unique human clicks under the partners' plans.

Two steps, so that the SQLite click writer decides in a read transaction and holds the write lock only to
insert: `price_clicks` reads what the decision needs (programs, enrollments, plans, what each partner's
clicks earned that day) and prices the clicks with the pure rules (`commission/rules.py`,
`plan/rules.py`); `record_click_commissions` inserts the pending commissions and their ledger postings in
the transaction that inserts the clicks. A commission's id is its click's id: a batch written twice pays
once. On PostgreSQL both steps run in that one transaction, and the partners' days are locked before they
are counted, so that concurrent writers (one per web process) never pay past a daily cap.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from partnerloop.commission import repository
from partnerloop.commission.earning import TRACKING, hold_until
from partnerloop.commission.events import announce_created
from partnerloop.commission.rules import (
    CommissionKind,
    CommissionStatus,
    earns_click_reward,
    price_partner_clicks,
    utc_day,
)
from partnerloop.kit.time import utc_now
from partnerloop.ledger import service as ledger
from partnerloop.models import Commission, Program
from partnerloop.partner.rules import EnrollmentStatus
from partnerloop.plan import service as plan_service
from partnerloop.plan.rules import Earnings, EventFacts, PlanTerms, capped_periods, choose_plan_id, period_start
from partnerloop.plan.service import cached_plan_terms
from partnerloop.webhook.service import listens


class ClickFacts(NamedTuple):
    """What pricing needs of a click as the writer stores it."""

    click_id: str
    program_id: str
    partner_id: str
    occurred_at: datetime
    is_bot: bool
    is_unique: bool


@dataclass(frozen=True)
class ClickCommissions:
    """The commissions a batch's clicks earned, decided and not yet written."""

    rows: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.rows)


NO_CLICK_COMMISSIONS = ClickCommissions([])


class _Created(NamedTuple):
    """What the ledger reads of a click commission just inserted (no ORM object for each)."""

    id: str
    program_id: str
    partner_id: str
    kind: str
    status: str
    earnings_amount: int
    earnings_currency: str
    explanation: str


@contextmanager
def _session(connection: Connection) -> Iterator[Session]:
    """A session on the writer's connection: it joins the connection's transaction and never ends it."""
    session = Session(bind=connection, join_transaction_mode="rollback_only", autoflush=False)
    try:
        yield session
        session.flush()
    finally:
        session.close()


def _has_click_rule(plan: PlanTerms | None) -> bool:
    return plan is not None and "click" in plan.compiled


def price_clicks(connection: Connection, clicks: Sequence[ClickFacts]) -> ClickCommissions:
    """The commissions the batch's clicks earn: one per unique human click whose partner is able to earn and
    whose plan has a click rule, within the rule's daily caps per partner (counting the clicks of the batch
    before it). Reads only; `record_click_commissions` writes the answer."""
    earning = [click for click in clicks if earns_click_reward(click.is_bot, click.is_unique)]
    if not earning:
        return NO_CLICK_COMMISSIONS
    with _session(connection) as session:
        return _price(session, earning)


def _price(session: Session, clicks: list[ClickFacts]) -> ClickCommissions:
    pairs = {(click.program_id, click.partner_id) for click in clicks}
    programs = repository.programs_by_id(session, {program_id for program_id, _ in pairs})
    earners = {
        key: earner
        for key, earner in repository.click_earners(session, pairs).items()
        if EnrollmentStatus(earner[0].status).can_earn and key[0] in programs
    }
    chosen: dict[tuple[str, str], str] = {}
    for key, (enrollment, _, group) in earners.items():
        plan_id = choose_plan_id(enrollment.plan_id, group.plan_id if group else None, programs[key[0]].default_plan_id)
        if plan_id is not None:
            chosen[key] = plan_id
    stored_plans = plan_service.plans_by_id(session, set(chosen.values()))
    plans: dict[tuple[str, str], PlanTerms] = {}
    for key, plan_id in chosen.items():
        stored = stored_plans.get(plan_id)
        if stored is not None and stored.program_id == key[0]:
            terms = cached_plan_terms(stored)
            if _has_click_rule(terms):
                plans[key] = terms
    if not plans:
        return NO_CLICK_COMMISSIONS
    paying = sorted((click for click in clicks if (click.program_id, click.partner_id) in plans),
                    key=lambda click: (click.occurred_at, click.click_id))  # fmt: skip
    days = {(click.program_id, click.partner_id, utc_day(click.occurred_at)) for click in paying}
    repository.lock_click_days(
        session, [f"click-day:{program}:{partner}:{day.date()}" for program, partner, day in days]
    )
    tallies = repository.click_day_tallies(session, set(plans), [day for _, _, day in days])
    by_partner: dict[tuple[str, str], list[ClickFacts]] = {}
    for click in paying:
        by_partner.setdefault((click.program_id, click.partner_id), []).append(click)
    now = utc_now()
    rows: list[dict[str, Any]] = []
    for key, partner_clicks in by_partner.items():
        program, plan, (enrollment, country, group) = programs[key[0]], plans[key], earners[key]
        periods = capped_periods(plan)
        latest = partner_clicks[-1].occurred_at
        # Since the periods of the batch's latest click: a batch across a month's end counts the earlier
        # clicks' room a little short, never long.
        period_earned = (
            repository.period_earned(
                session, program.id, key[1], {period: period_start(latest, period) for period in sorted(periods)}
            )
            if periods
            else {}
        )
        partner = EventFacts(
            "click",
            latest,
            partner_group_id=group.id if group else None,
            partner_group_name=group.name if group else None,
            partner_country=country,
            period_earned=period_earned,
        )
        day_before = {day: tallies.get((key[0], key[1], day), (0, 0)) for _, _, day in days}
        priced = price_partner_clicks(
            plan, partner, [click.occurred_at for click in partner_clicks], day_before, program.currency
        )
        for click, result in zip(partner_clicks, priced, strict=True):
            if isinstance(result, Earnings):
                rows.append(_commission_row(program, plan, click, result, now))
    return ClickCommissions(rows)


def _commission_row(
    program: Program, plan: PlanTerms, click: ClickFacts, priced: Earnings, now: datetime
) -> dict[str, Any]:
    return {
        # One click commission per click: its id is the click's ULID (a signed click id's first 26 characters).
        "id": click.click_id[:26],
        "program_id": program.id,
        "partner_id": click.partner_id,
        "customer_id": None,
        "event_id": None,
        "click_id": click.click_id,
        "kind": CommissionKind.CLICK.value,
        "reverses_id": "",
        "amount": 0,
        "currency": program.currency,
        "earnings_amount": priced.earnings_amount,
        "earnings_currency": priced.earnings_currency,
        "status": CommissionStatus.PENDING.value,
        "plan_id": plan.id,
        "rule_index": priced.rule_index,
        "rule": priced.rule,
        "explanation": priced.explanation,
        "explanation_data": priced.explanation_data,
        "occurred_at": click.occurred_at,
        "hold_until": hold_until(program, click.occurred_at),
        "created_at": now,
        "status_changed_at": None,
    }


def record_click_commissions(connection: Connection, commissions: ClickCommissions) -> int:
    """Insert the decided commissions and their ledger postings in the connection's transaction (after the
    clicks they name); returns how many were new (a click paid already is skipped)."""
    if not commissions.rows:
        return 0
    with _session(connection) as session:
        created = repository.insert_commissions_by_id(session, commissions.rows)
        ledger.post_commissions_created(session, [_Created(*(row[field] for field in _Created._fields)) for row in created],
                                        actor=TRACKING)  # fmt: skip
        listening = {row["program_id"] for row in created if listens(session, row["program_id"], "commission.created")}
        announce_created(session, [Commission(**row) for row in created if row["program_id"] in listening])
        return len(created)
