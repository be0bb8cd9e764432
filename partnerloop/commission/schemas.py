"""Tracking payloads (lead, sale, refund) and commissions as the API takes and gives them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

MAX_AMOUNT = 10**13  # minor units: 100 billion in a two-decimal currency, well inside BIGINT


def _iso_text(value: object) -> object:
    """Times come as ISO 8601 text with a zone; a bare number is refused, not read as epoch seconds."""
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 time with a zone, e.g. 2026-01-31T12:00:00Z")
    return value


IsoTime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)]
Text64 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
CurrencyCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Country = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z]{2}$")]
MetadataValue = Annotated[str, StringConstraints(max_length=500)] | StrictInt | bool


def _metadata_keys(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > 50:
        raise ValueError("customer_metadata takes at most 50 keys")
    for key in value:
        if not (1 <= len(key) <= 100) or not all(char.isalnum() or char in "_.-" for char in key):
            raise ValueError(f"customer_metadata key '{key}' must be 1 to 100 letters, digits, '_', '.' or '-'")
    return value


CustomerMetadata = Annotated[dict[str, MetadataValue], AfterValidator(_metadata_keys)]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LeadIn(_Closed):
    click_id: Text64 | None = None
    referral_code: Text64 | None = None
    customer_external_id: Text200
    email: Email | None = None
    name: Text200 | None = None
    event_name: Text200 = "sign_up"
    occurred_at: IsoTime | None = None
    customer_country: Country | None = None
    customer_metadata: CustomerMetadata | None = None

    @model_validator(mode="after")
    def _one_touch(self) -> LeadIn:
        if (self.click_id is None) == (self.referral_code is None):
            raise ValueError("give either click_id or referral_code (exactly one)")
        return self


class SaleIn(_Closed):
    customer_external_id: Text200
    amount: Amount
    currency: CurrencyCode
    invoice_id: Text200
    product_id: Text200 | None = None
    coupon_code: Text100 | None = None
    click_id: Text64 | None = None
    occurred_at: IsoTime | None = None
    customer_country: Country | None = None
    customer_metadata: CustomerMetadata | None = None


class RefundIn(_Closed):
    invoice_id: Text200
    amount: Amount | None = None
    currency: CurrencyCode | None = None
    refund_id: Text200 | None = None
    occurred_at: IsoTime | None = None


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


class CustomerOut(BaseModel):
    id: str
    external_id: str
    partner_id: str | None
    click_id: str | None
    attributed_at: datetime | None
    attribution: str | None


class LeadOut(BaseModel):
    id: str
    event_name: str
    customer_id: str
    click_id: str | None
    occurred_at: datetime


class SaleOut(BaseModel):
    id: str
    invoice_id: str
    customer_id: str
    amount: int
    currency: str
    product_id: str | None
    coupon_code: str | None
    click_id: str | None
    occurred_at: datetime


class RefundOut(BaseModel):
    id: str
    invoice_id: str
    sale_id: str
    refund_id: str | None
    amount: int
    currency: str
    occurred_at: datetime


class TrackedLead(BaseModel):
    lead: LeadOut
    customer: CustomerOut
    commissions: list[CommissionOut]
    no_commission_reason: str | None


class TrackedSale(BaseModel):
    sale: SaleOut
    customer: CustomerOut
    commissions: list[CommissionOut]
    no_commission_reason: str | None


class TrackedRefund(BaseModel):
    refund: RefundOut
    sale: SaleOut
    commissions: list[CommissionOut]  # the reversals this refund created
