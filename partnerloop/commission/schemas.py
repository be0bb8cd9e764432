"""Commissions as the API takes and gives them (manual commissions, clawbacks)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

from partnerloop.kit.money import MAX_AMOUNT

Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)]
Text64 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
CurrencyCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10)]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommissionOut(BaseModel):
    id: str
    partner_id: str
    customer_id: str | None
    event_id: str | None
    click_id: str | None
    kind: str
    amount: int  # the sale as it came, in its own currency
    currency: str
    program_amount: int | None  # the sale in the program's currency
    fx_rate: str | None  # the rate it was converted at (exact decimal text), None when not converted
    earnings_amount: int
    earnings_currency: str
    status: str
    explanation: str
    explanation_data: dict[str, Any] | None  # rule, conditions, tier, campaign, duration, cap, arithmetic
    reverses_id: str | None
    plan_id: str | None
    rule_index: int | None
    rule: dict[str, Any] | None
    trigger_event_id: str | None  # a bonus: the event that reached the threshold
    reason: str | None  # manual commissions and clawbacks
    created_by: str | None
    occurred_at: datetime | None
    hold_until: datetime
    created_at: datetime
    status_changed_at: datetime | None


Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
SignedAmount = Annotated[StrictInt, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]


class ManualCommissionIn(_Closed):
    """A commission made by a person: `amount` is the partner's earnings (negative: a clawback)."""

    partner_id: Text64
    amount: SignedAmount
    currency: CurrencyCode | None = None
    reason: Reason
    status: Literal["approved", "pending"] = "approved"

    @model_validator(mode="after")
    def _not_zero(self) -> ManualCommissionIn:
        if self.amount == 0:
            raise ValueError("amount must not be zero (negative for a clawback)")
        return self


class ClawbackIn(_Closed):
    """Take back (part of) a commission: all that is left when `amount` is absent."""

    amount: Amount | None = None
    reason: Reason


class CommissionList(BaseModel):
    data: list[CommissionOut]
    next_cursor: str | None
