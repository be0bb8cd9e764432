"""Plans and their rules as the API takes and gives them (validated here, stored as JSON).

Pydantic checks shapes and types; what needs the whole rule (a field that fits the event, an operator
that fits the value, increasing tier minimums) is checked by `plan/validation.py`, whose messages
name the rule ("rules[2].conditions[0]: operator 'gt' needs a number").
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

MAX_RULES = 50
MAX_MONTHS = 120
MAX_FLAT_AMOUNT = 10**12  # minor units; far above any real reward, well inside BIGINT
MAX_CONDITIONS = 20
MAX_TIER_LEVELS = 20
MAX_BONUSES = 20
MAX_THRESHOLD = 10**15
# A click flood (rotating addresses and user agents pass as unique visitors) must not drain a program
# whose click rule names no daily cap: 1,000 unique clicks a partner a day is far beyond an honest one's.
DEFAULT_CLICKS_PER_DAY = 1_000

EventKind = Literal["click", "lead", "sale"]
PlanName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RuleName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Metric = Literal["sales_count", "revenue", "leads_count"]
Period = Literal["month", "quarter", "year", "lifetime"]
Operator = Literal["eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "starts_with"]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PercentReward(_Closed):
    """A share of the sale in basis points (2000 = 20%), earned in the sale's currency."""

    type: Literal["percent"]
    rate_bps: StrictInt = Field(ge=1, le=10_000)


class FlatReward(_Closed):
    """A fixed amount in minor units of the program's currency."""

    type: Literal["flat"]
    amount: StrictInt = Field(gt=0, le=MAX_FLAT_AMOUNT)


Reward = Annotated[PercentReward | FlatReward, Field(discriminator="type")]


class OneTime(_Closed):
    """Pays the customer's first sale only."""

    kind: Literal["one_time"]


class Months(_Closed):
    """Pays sales within `months` whole months of the customer's first sale."""

    kind: Literal["months"]
    months: StrictInt = Field(ge=1, le=MAX_MONTHS)


class Lifetime(_Closed):
    """Pays every sale of the customer."""

    kind: Literal["lifetime"]


Duration = Annotated[OneTime | Months | Lifetime, Field(discriminator="kind")]


class Condition(_Closed):
    """One test over the sale, customer, product or partner (fields and operators: plan/conditions.py)."""

    field: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    op: Operator
    value: Any = None


class TierLevel(_Closed):
    min: StrictInt = Field(ge=0, le=MAX_THRESHOLD)
    reward: Reward


class Tiers(_Closed):
    """A reward chosen by the partner's volume (`metric`) in the `period` before this event."""

    metric: Metric
    period: Period
    levels: list[TierLevel] = Field(min_length=1, max_length=MAX_TIER_LEVELS)


class Caps(_Closed):
    """At most `per_customer_amount` from one customer; at most `per_period_amount` per `period`
    (program currency, everything the partner earned counts).

    Click rules only: at most `per_day_count` paid clicks and at most `per_day_amount` of click earnings
    per partner and UTC day (every click commission of that day counts, rejected ones included). A click
    rule that gives neither pays at most DEFAULT_CLICKS_PER_DAY clicks per partner and day."""

    per_customer_amount: StrictInt | None = Field(default=None, gt=0, le=MAX_FLAT_AMOUNT)
    per_period_amount: StrictInt | None = Field(default=None, gt=0, le=MAX_FLAT_AMOUNT)
    period: Period | None = None
    per_day_count: StrictInt | None = Field(default=None, gt=0, le=MAX_THRESHOLD)
    per_day_amount: StrictInt | None = Field(default=None, gt=0, le=MAX_FLAT_AMOUNT)


class Active(_Closed):
    """A campaign window: from (inclusive) until (exclusive); either end may be open."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    starts: AwareDatetime | None = Field(default=None, alias="from")
    until: AwareDatetime | None = None


class Rule(_Closed):
    event: EventKind
    reward: Reward
    duration: Duration | None = None
    name: RuleName | None = None
    conditions: list[Condition] | None = Field(default=None, max_length=MAX_CONDITIONS)
    tiers: Tiers | None = None
    caps: Caps | None = None
    active: Active | None = None

    @model_validator(mode="after")
    def _fits_the_event(self) -> Rule:
        if self.event != "sale":
            if isinstance(self.reward, PercentReward):
                raise ValueError(f"a {self.event} rule pays a flat amount; percent rewards apply to sales only")
            if self.duration is not None:
                raise ValueError(f"duration applies to sale rules only, not to a {self.event} rule")
        elif self.duration is None:
            self.duration = OneTime(kind="one_time")
        return self

    def stored(self) -> dict[str, Any]:
        """The rule as stored in the plan and copied into each commission it prices."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class Bonus(_Closed):
    """A flat `amount` (program currency), once per partner and period, when `metric` reaches `threshold`."""

    name: RuleName
    metric: Metric
    period: Period
    threshold: StrictInt = Field(gt=0, le=MAX_THRESHOLD)
    amount: StrictInt = Field(gt=0, le=MAX_FLAT_AMOUNT)

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


RuleList = Annotated[list[Rule], Field(min_length=1, max_length=MAX_RULES)]
BonusList = Annotated[list[Bonus], Field(max_length=MAX_BONUSES)]
_stored_rules = TypeAdapter(list[Rule])
_stored_bonuses = TypeAdapter(list[Bonus])


def parse_stored_rules(stored: list[Any]) -> list[Rule]:
    """Rules as read back from the database (they were validated when written)."""
    return _stored_rules.validate_python(stored)


def parse_stored_bonuses(stored: list[Any] | None) -> list[Bonus]:
    return _stored_bonuses.validate_python(stored or [])


class PlanIn(_Closed):
    name: PlanName
    rules: RuleList
    bonuses: BonusList = Field(default_factory=list)


class PlanPatch(_Closed):
    name: PlanName | None = None
    rules: RuleList | None = None
    bonuses: BonusList | None = None


class PlanOut(BaseModel):
    id: str
    name: str
    rules: list[dict[str, Any]]  # as stored: the parts a rule does not use are left out
    bonuses: list[dict[str, Any]]
    is_default: bool
    created_at: datetime


class PlanList(BaseModel):
    data: list[PlanOut]
    next_cursor: str | None


# ---------------------------------------------------------------- the simulator

MAX_SIMULATION_DAYS = 3 * 366


class SimulateIn(_Closed):
    """A window of past events: dates (`to` included, whole UTC days) or times with a zone (`to` excluded)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    starts: AwareDatetime | date = Field(alias="from")
    to: AwareDatetime | date


class SimulatedTotals(BaseModel):
    commissions_amount: int
    roi: str | None  # revenue ÷ commissions, two decimals ("8.33"); None without commissions
    effective_rate_bps: int | None  # commissions ÷ revenue in basis points; None without revenue


class SimulatedPartner(BaseModel):
    partner_id: str
    name: str
    group: str | None
    leads: int
    sales: int
    revenue_amount: int  # net of refunds before the window's end
    current_amount: int
    proposed_amount: int
    difference_amount: int
    customers: int  # with a sale in the window
    average_clv_amount: int | None  # those customers' lifetime value (sales less refunds), on average
    current_share_of_clv_bps: int | None  # commissions as a share of that value
    proposed_share_of_clv_bps: int | None


class SimulationOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    plan_id: str
    plan_name: str
    starts: datetime = Field(serialization_alias="from")
    to: datetime
    currency: str
    leads: int
    sales: int
    revenue_amount: int
    current: SimulatedTotals  # the plans in force: the commissions actually recorded
    proposed: SimulatedTotals  # this plan, replayed over the same events
    difference_amount: int
    partners: list[SimulatedPartner]
    notes: list[str]
