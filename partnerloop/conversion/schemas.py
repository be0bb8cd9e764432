"""Tracking payloads (lead, sale, refund) and the conversions, as the API takes and gives them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictInt,
    StringConstraints,
    model_validator,
)

from partnerloop.commission.schemas import Amount, CommissionOut, CurrencyCode, Text64


def _iso_text(value: object) -> object:
    """Times come as ISO 8601 text with a zone; a bare number is refused, not read as epoch seconds."""
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 time with a zone, e.g. 2026-01-31T12:00:00Z")
    return value


IsoTime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
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
    # Recorded while its currency had no rate to the program's: commissions come when one arrives.
    awaiting_rate: bool = False


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
