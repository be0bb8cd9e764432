"""A program's referral reward settings (`PATCH /api/v1/program {"referral_rewards": …}`): the program's own
settings, read by the referral domain, which decides and issues the rewards."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Amount = Annotated[StrictInt, Field(gt=0, le=100_000_000)]
Percent = Annotated[StrictInt, Field(ge=1, le=100)]
Months = Annotated[StrictInt, Field(ge=1, le=120)]


class CreditReward(_Closed):
    """A Stripe customer balance credit for the advocate, in the program's currency."""

    type: Literal["credit"]
    amount: Amount


class CouponReward(_Closed):
    """A Stripe coupon + promotion code for the advocate: `percent` off or `amount` off."""

    type: Literal["coupon"]
    percent: Percent | None = None
    amount: Amount | None = None
    duration_months: Months | None = None  # none: once

    @model_validator(mode="after")
    def _one_discount(self) -> CouponReward:
        if (self.percent is None) == (self.amount is None):
            raise ValueError("a coupon reward takes either percent or amount")
        return self


class CashReward(_Closed):
    """Earned into the advocate's balance and paid out by payout runs like a commission."""

    type: Literal["cash"]
    amount: Amount


class NoReward(_Closed):
    type: Literal["none"]


class PercentOff(_Closed):
    type: Literal["percent_off"]
    percent: Percent
    duration_months: Months | None = None  # none: the first payment only


class AmountOff(_Closed):
    type: Literal["amount_off"]
    amount: Amount
    duration_months: Months | None = None


ReferrerReward = Annotated[CreditReward | CouponReward | CashReward | NoReward, Field(discriminator="type")]
FriendReward = Annotated[PercentOff | AmountOff | NoReward, Field(discriminator="type")]


class ReferralRewards(_Closed):
    """`PATCH /api/v1/program {"referral_rewards": …}`: what a referred friend's first lead or sale earns."""

    trigger: Literal["lead", "sale"] = "sale"
    referrer: ReferrerReward = Field(default_factory=lambda: NoReward(type="none"))
    friend: FriendReward = Field(default_factory=lambda: NoReward(type="none"))
    limit_per_advocate: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None
    hold_days: Annotated[StrictInt, Field(ge=0, le=365)] = 0
    auto_advocates: bool = False  # every Stripe customer with an email becomes an advocate, at `auto_advocates_on`
    # customer.created: as soon as Stripe creates the customer; invoice.paid: on their first paid invoice
    auto_advocates_on: Literal["customer.created", "invoice.paid"] = "customer.created"
