"""The plan simulator: replay a window of past events under a proposed plan, beside the plans in force.

The window's leads and sales that were credited to a partner stream from the database in time order
(`yield_per`: memory is bounded by partners and, when the plan caps per customer, customers — never by
events) through the same pure engine that prices live events. The facts are rebuilt as the stream goes:
each partner's volume per period starts from what they had before the window and grows sale by sale;
caps count what the proposed plan pays. A sale refunded before the window's end earns its unrefunded
share, as reversals would leave it. "Current" is what the plans in force recorded for the same events
(less their refunds' reversals; rejected commissions, manual commissions and clawbacks left out).
Nothing is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any, Protocol

from sqlalchemy.orm import Session

from partnerloop.kit.errors import InvalidInput
from partnerloop.kit.money import prorate, round_half_away
from partnerloop.kit.time import as_utc
from partnerloop.models import Plan, Program
from partnerloop.plan import repository
from partnerloop.plan.bonuses import reached_bonuses
from partnerloop.plan.rules import (
    CreditShare,
    Earnings,
    EventFacts,
    PlanTerms,
    capped_periods,
    compute_earnings,
    event_volume,
    needed_stats,
    needs_customer_earned,
    period_key,
    period_start,
)
from partnerloop.plan.schemas import (
    MAX_SIMULATION_DAYS,
    SimulatedPartner,
    SimulatedTotals,
    SimulateIn,
    SimulationOut,
)
from partnerloop.plan.service import plan_terms

BATCH = 2_000
_METRIC_KIND = {"sales_count": "sale", "revenue": "sale", "leads_count": "lead"}


class InvalidWindow(InvalidInput):
    pass


def window_of(body: SimulateIn) -> tuple[datetime, datetime]:
    """[start, end) in UTC: a date `from` starts at its midnight, a date `to` ends with its day."""

    def moment(value: datetime | date, *, end: bool) -> datetime:
        if isinstance(value, datetime):
            return as_utc(value)
        day = value + timedelta(days=1) if end else value
        return datetime.combine(day, time(), tzinfo=UTC)

    try:
        start, end = moment(body.starts, end=False), moment(body.to, end=True)
    except OverflowError:  # '0001-01-01T00:00:00+14:00' is before year 1 in UTC; '9999-12-31' ends in year 10000
        raise InvalidWindow("from and to must be within the years 1 to 9999 in UTC.") from None
    if start >= end:
        raise InvalidWindow(f"from ({start.isoformat()}) must be before to ({end.isoformat()}).")
    if end - start > timedelta(days=MAX_SIMULATION_DAYS):
        raise InvalidWindow(f"A simulation covers at most {MAX_SIMULATION_DAYS} days.")
    return start, end


@dataclass
class _Partner:
    """One partner's running state and figures."""

    name: str
    country: str | None
    group_id: str | None
    group_name: str | None
    volume: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)  # (metric, period) -> (key, value)
    period_earned: dict[str, tuple[str, int]] = field(default_factory=dict)  # period -> (key, earned)
    leads: int = 0
    sales: int = 0
    revenue: int = 0
    proposed: int = 0
    bonuses_paid: set[str] = field(default_factory=set)  # bonus keys reached (before or in the window)

    def stat(self, metric: str, period: str, key: str) -> int:
        held = self.volume.get((metric, period))
        return held[1] if held is not None and held[0] == key else 0

    def add_stat(self, metric: str, period: str, key: str, amount: int) -> None:
        self.volume[(metric, period)] = (key, self.stat(metric, period, key) + amount)

    def earned_in(self, period: str, key: str) -> int:
        held = self.period_earned.get(period)
        return held[1] if held is not None and held[0] == key else 0

    def add_earned(self, period: str, key: str, amount: int) -> None:
        self.period_earned[period] = (key, self.earned_in(period, key) + amount)


def _roi(revenue: int, commissions: int) -> str | None:
    if commissions <= 0:
        return None
    hundredths = round_half_away(Fraction(revenue * 100, commissions))
    sign = "-" if hundredths < 0 else ""
    units, cents = divmod(abs(hundredths), 100)
    return f"{sign}{units}.{cents:02d}"


def _share_bps(part: int, whole: int) -> int | None:
    return None if whole <= 0 else round_half_away(Fraction(part * 10_000, whole))


def _totals(revenue: int, commissions: int) -> SimulatedTotals:
    return SimulatedTotals(
        commissions_amount=commissions,
        roi=_roi(revenue, commissions),
        effective_rate_bps=_share_bps(commissions, revenue),
    )


class SplitShare(Protocol):
    """One partner's share of a split sale (`commission.rules.Share`)."""

    @property
    def partner_id(self) -> str: ...

    @property
    def credit(self) -> CreditShare: ...


class SaleShares(Protocol):
    """How the program's attribution model splits a customer's sale (`conversion.replay.sale_shares`,
    handed in by the caller: plan may not import conversion). Empty: the sale is not split."""

    def __call__(
        self, session: Session, program: Program, customer_id: str, converted_at: datetime
    ) -> Sequence[SplitShare]: ...


class Replay:
    """The stream's state: feed it rows in time order, then read the figures."""

    def __init__(
        self,
        program: Program,
        terms: PlanTerms,
        partners: dict[str, _Partner],
        *,
        session: Session | None = None,
        shares: SaleShares | None = None,
    ) -> None:
        self.program = program
        self.terms = terms
        self.partners = partners
        self.needed = needed_stats(terms)
        self.capped = capped_periods(terms)
        self.per_customer = needs_customer_earned(terms)
        self.customer_earned: dict[tuple[str, str], int] = defaultdict(int)
        self.leads = self.sales = 0
        self.session: Session | None = session if shares is not None else None
        self.shares: SaleShares | None = shares if session is not None else None

    def seed(self, session: Session, start: datetime) -> None:
        """What each partner had before the window: volume per period, earnings per capped period,
        earnings per customer (for caps), and the bonuses of the current periods already reached."""
        for metric, period in self.needed:
            since = period_start(start, period)
            key = period_key(start, period)
            for partner_id, (count, amount) in repository.volume_before(
                session, self.program.id, _METRIC_KIND[metric], since, start
            ).items():
                partner = self.partners.get(partner_id)
                if partner is not None:
                    partner.add_stat(metric, period, key, amount if metric == "revenue" else count)
        for period in self.capped:
            key = period_key(start, period)
            earned = repository.earned_before(session, self.program.id, start, period_start(start, period))
            for (partner_id, _customer), amount in earned.items():
                if partner_id in self.partners:
                    self.partners[partner_id].add_earned(period, key, amount)
        if self.per_customer:
            for (partner_id, customer_id), amount in repository.earned_before(
                session, self.program.id, start, by_customer=True
            ).items():
                assert customer_id is not None
                self.customer_earned[(partner_id, customer_id)] = amount
        for partner in self.partners.values():
            for bonus in self.terms.bonuses:
                key = period_key(start, bonus.period)
                if partner.stat(bonus.metric, bonus.period, key) >= bonus.threshold:
                    partner.bonuses_paid.add(f"{self.terms.id}:{bonus.name}:{key}"[:300])

    def _facts(self, partner: _Partner, partner_id: str, customer_id: str, base: EventFacts) -> EventFacts:
        """The event's facts as `partner` sees them: their group, country, volume and caps."""
        at = base.occurred_at
        return replace(
            base,
            partner_group_id=partner.group_id,
            partner_group_name=partner.group_name,
            partner_country=partner.country,
            stats={
                (metric, period): partner.stat(metric, period, period_key(at, period)) for metric, period in self.needed
            },
            customer_earned=self.customer_earned.get((partner_id, customer_id), 0) if self.per_customer else 0,
            period_earned={period: partner.earned_in(period, period_key(at, period)) for period in self.capped},
        )

    def _earn(self, partner: _Partner, partner_id: str, customer_id: str, at: datetime, earned: int) -> None:
        partner.proposed += earned
        if self.per_customer:
            self.customer_earned[(partner_id, customer_id)] += earned
        for period in self.capped:
            partner.add_earned(period, period_key(at, period), earned)

    def _priced(self, facts: EventFacts, share: CreditShare | None, refunded: int, amount: int | None) -> int:
        """What the proposed plan pays for the event (a share of it), less what a refund reversed."""
        priced = compute_earnings(self.terms, facts, self.program.currency, share)
        if not isinstance(priced, Earnings):
            return 0
        earned = priced.earnings_amount
        if facts.kind == "sale" and refunded and amount:
            earned -= prorate(earned, min(refunded, amount), amount)
        return earned

    def _shares(self, sale: bool, customer_id: str, at: datetime) -> Sequence[SplitShare]:
        if not sale or self.shares is None or self.session is None:
            return ()
        return self.shares(self.session, self.program, customer_id, at)

    def feed(self, row: Any) -> None:
        """One lead or sale of the window (a row of repository.window_events). A split sale pays each
        touching partner their share, priced with their own facts; bonuses and volume follow the
        credited partner, as for a live sale."""
        (_event_id, kind, partner_id, customer_id, amount, currency, program_amount, fx_rate, product_id,
         coupon_code, occurred_at, country, metadata, first_sale_at, refunded, refunded_converted) = row  # fmt: skip
        partner = self.partners.get(partner_id)
        if partner is None:  # credited to a partner who has left the program since
            return
        occurred_at = as_utc(occurred_at)
        converted = program_amount if program_amount is not None else (amount or 0)
        first = as_utc(first_sale_at) if first_sale_at is not None else occurred_at
        sale = kind == "sale"
        facts = self._facts(partner, partner_id, customer_id, EventFacts(
            kind=kind, occurred_at=occurred_at, amount=converted if sale else 0,
            currency=self.program.currency if sale else "", first_sale_at=first if sale else None,
            is_first_sale=first >= occurred_at, original_amount=amount if sale else None,
            original_currency=currency if sale else None, fx_rate=fx_rate, product_id=product_id,
            coupon_code=coupon_code, customer_country=country, customer_metadata=metadata or {},
        ))  # fmt: skip
        shares = self._shares(sale, customer_id, occurred_at)
        if shares:
            for share in shares:
                earner = self.partners.get(share.partner_id)
                if earner is not None:
                    seen = facts if earner is partner else self._facts(earner, share.partner_id, customer_id, facts)
                    earned = self._priced(seen, share.credit, int(refunded or 0), amount)
                    self._earn(earner, share.partner_id, customer_id, occurred_at, earned)
        else:
            earned = self._priced(facts, None, int(refunded or 0), amount)
            self._earn(partner, partner_id, customer_id, occurred_at, earned)
        if self.terms.bonuses:
            for bonus in reached_bonuses(self.terms, facts, self.program.currency, partner.bonuses_paid):
                partner.bonuses_paid.add(bonus.bonus_key)
                self._earn(partner, partner_id, customer_id, occurred_at, bonus.earnings_amount)
        volume = event_volume(kind, converted)
        for metric, period in self.needed:
            if metric in volume:
                partner.add_stat(metric, period, period_key(occurred_at, period), volume[metric])
        if sale:
            self.sales += 1
            partner.sales += 1
            partner.revenue += converted - int(refunded_converted or 0)
        else:
            self.leads += 1
            partner.leads += 1


def _partner_row(partner_id: str, partner: _Partner, was: int, clv: tuple[int, int]) -> SimulatedPartner:
    """One partner's line: now vs proposed, and commissions as a share of their customers' lifetime value."""
    customers, value = clv
    return SimulatedPartner(
        partner_id=partner_id,
        name=partner.name,
        group=partner.group_name,
        leads=partner.leads,
        sales=partner.sales,
        revenue_amount=partner.revenue,
        current_amount=was,
        proposed_amount=partner.proposed,
        difference_amount=partner.proposed - was,
        customers=customers,
        average_clv_amount=round_half_away(Fraction(value, customers)) if customers else None,
        current_share_of_clv_bps=_share_bps(was, value),
        proposed_share_of_clv_bps=_share_bps(partner.proposed, value),
    )


def simulate(
    session: Session, program: Program, plan: Plan, body: SimulateIn, shares: SaleShares | None = None
) -> SimulationOut:
    """Replay the window's events under `plan` and compare with what the plans in force recorded.
    `shares` splits sales by the program's multi-touch model as live sales are (None: not split)."""
    start, end = window_of(body)
    terms = plan_terms(plan)
    partners = {
        partner_id: _Partner(name, country, group_id, group_name)
        for partner_id, (name, country, group_id, group_name) in repository.partners_of(session, program.id).items()
    }
    replay = Replay(program, terms, partners, session=session, shares=shares)
    replay.seed(session, start)
    for row in repository.window_events(session, program.id, start, end, BATCH):
        replay.feed(row)
    current = repository.recorded_in_window(session, program.id, start, end)
    values = repository.customer_values(session, program.id, start, end)
    rows = [
        _partner_row(partner_id, partner, current.get(partner_id, 0), values.get(partner_id, (0, 0)))
        for partner_id, partner in partners.items()
        if partner.leads or partner.sales or current.get(partner_id, 0)
    ]
    rows.sort(key=lambda row: (-row.proposed_amount, -row.current_amount, row.name))
    revenue = sum(partner.revenue for partner in partners.values())
    current_total = sum(current.values())
    proposed_total = sum(partner.proposed for partner in partners.values())
    return SimulationOut(
        plan_id=plan.id,
        plan_name=plan.name,
        starts=start,
        to=end,
        currency=program.currency,
        leads=replay.leads,
        sales=replay.sales,
        revenue_amount=revenue,
        current=_totals(revenue, current_total),
        proposed=_totals(revenue, proposed_total),
        difference_amount=proposed_total - current_total,
        partners=rows,
        notes=[
            "Revenue and commissions are in the program's currency, net of refunds made before the window's end.",
            "Current: commissions recorded for the window's leads and sales (and the bonuses they triggered), "
            "rejected ones, manual commissions and clawbacks left out.",
        ],
    )
