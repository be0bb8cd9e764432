"""Plans and their rules as the API takes and gives them (validated here, stored as JSON).

A rule is a closed model (extra=forbid) with optional parts: a later issue adds `conditions`,
`tiers`, `caps` and `active` to `Rule`, and `bonuses` to the plan, as new optional fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, TypeAdapter, model_validator

MAX_RULES = 50
MAX_MONTHS = 120
MAX_FLAT_AMOUNT = 10**12  # minor units; far above any real reward, well inside BIGINT

EventKind = Literal["click", "lead", "sale"]
PlanName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


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


class Rule(_Closed):
    event: EventKind
    reward: Reward
    duration: Duration | None = None

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
        return self.model_dump(mode="json", exclude_none=True)


RuleList = Annotated[list[Rule], Field(min_length=1, max_length=MAX_RULES)]
_stored_rules = TypeAdapter(list[Rule])


def parse_stored_rules(stored: list[Any]) -> list[Rule]:
    """Rules as read back from the database (they were validated when written)."""
    return _stored_rules.validate_python(stored)


class PlanIn(_Closed):
    name: PlanName
    rules: RuleList


class PlanPatch(_Closed):
    name: PlanName | None = None
    rules: RuleList | None = None


class PlanOut(BaseModel):
    id: str
    name: str
    rules: list[Rule]
    is_default: bool
    created_at: datetime


class PlanList(BaseModel):
    data: list[PlanOut]
    next_cursor: str | None
