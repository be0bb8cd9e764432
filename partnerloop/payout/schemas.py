from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TaxIn(BaseModel):
    """W-9 (US persons) or W-8BEN (foreign individuals) data."""

    model_config = ConfigDict(extra="forbid")

    form: Literal["w9", "w8ben"]
    legal_name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=2, max_length=2)
    tax_id: str = Field(min_length=4, max_length=40)  # SSN / EIN, or the foreign TIN
    address: str = Field(min_length=1, max_length=500)


class _MethodBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str | None = Field(default=None, min_length=3, max_length=3)  # default: the program's
    tax: TaxIn | None = None


class PaypalIn(_MethodBase):
    type: Literal["paypal"]
    email: str = Field(min_length=3, max_length=320)


class WiseIn(_MethodBase):
    type: Literal["wise"]
    account_holder_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    iban: str | None = Field(default=None, max_length=50)
    bic: str | None = Field(default=None, max_length=11)
    account_number: str | None = Field(default=None, max_length=40)  # non-IBAN countries
    routing_number: str | None = Field(default=None, max_length=20)  # US ABA, UK sort code…
    recipient_type: Literal["PRIVATE", "BUSINESS"] = "PRIVATE"


class StripeConnectIn(_MethodBase):
    type: Literal["stripe_connect"]
    account_id: str = Field(min_length=5, max_length=100)  # acct_…


class ManualIn(_MethodBase):
    type: Literal["manual"]
    instructions: str = Field(default="", max_length=1000)


PayoutMethodIn = Annotated[PaypalIn | WiseIn | StripeConnectIn | ManualIn, Field(discriminator="type")]


class PayoutMethodOut(BaseModel):
    partner_id: str
    type: str
    currency: str
    details: dict[str, Any]  # masked
    tax: dict[str, Any] | None  # masked
    valid: bool
    problem: str | None  # why the partner is not paid, when not valid
    updated_at: datetime


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preview: bool = False
    run_key: str | None = Field(default=None, min_length=1, max_length=200)
    cutoff: datetime | None = None  # default: now


class PayoutOut(BaseModel):
    id: str | None
    partner_id: str
    amount: int
    currency: str
    status: str
    method: str
    delivery: str  # "api": sent by the provider's API; "csv": waits for a CSV export and mark-paid
    source_amount: int
    source_currency: str
    fx_rate: str | None
    commission_count: int
    run_id: str | None = None
    provider_reference: str | None = None
    failure_reason: str | None = None
    retry_of_id: str | None = None
    created_at: datetime | None = None
    paid_at: datetime | None = None


class SkippedOut(BaseModel):
    partner_id: str
    reason: str  # every reason, in one text
    reasons: list[str] = []  # each reason on its own
    amount: int | None = None
    currency: str | None = None


class RunOut(BaseModel):
    id: str | None
    status: str  # preview | confirmed
    run_key: str
    cutoff: datetime
    payouts: list[PayoutOut]
    skipped: list[SkippedOut]
    total_by_currency: dict[str, int]


class PayoutList(BaseModel):
    data: list[PayoutOut]
    next_cursor: str | None


class MarkPaidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=200)


class MarkFailedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


class PayoutSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedule: Literal["manual", "monthly"] | None = None
    day_of_month: int | None = Field(default=None, ge=1, le=28)
    net_days: int | None = Field(default=None, ge=0, le=120)
    stripe_secret_key: str | None = Field(default=None, max_length=200)


class PayoutSettingsOut(BaseModel):
    schedule: str
    day_of_month: int
    net_days: int
    stripe_secret_key_set: bool


class StatementLine(BaseModel):
    commission_id: str
    kind: str
    earnings_amount: int
    earnings_currency: str
    explanation: str
    occurred_at: datetime | None


class StatementPayout(BaseModel):
    payout: PayoutOut
    commissions: list[StatementLine]


class YearlyPartner(BaseModel):
    partner_id: str
    name: str
    email: str
    currency: str
    paid_amount: int
    payouts: int
    tax_form: str | None
    over_1099_threshold: bool


class YearlyReport(BaseModel):
    year: int
    data: list[YearlyPartner]
