from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
StripeId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class CouponIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    partner_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    create_in_stripe: bool = False
    stripe_coupon_id: StripeId | None = None  # the Stripe coupon (discount) the promotion code applies

    @model_validator(mode="after")
    def _stripe_coupon_when_created_there(self) -> CouponIn:
        if self.create_in_stripe and self.stripe_coupon_id is None:
            raise ValueError("create_in_stripe needs stripe_coupon_id (the Stripe coupon the code applies)")
        return self


class CouponOut(BaseModel):
    id: str
    code: str
    partner_id: str
    active: bool
    stripe_coupon_id: str | None
    stripe_promotion_code_id: str | None
    created_by: str | None
    created_at: datetime
    deactivated_at: datetime | None


class CouponList(BaseModel):
    data: list[CouponOut]
    next_cursor: str | None
