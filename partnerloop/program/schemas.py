from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from partnerloop.kit.money import MAX_AMOUNT
from partnerloop.program.referral_settings import ReferralRewards

AttributionModel = Literal["first_click", "last_click", "linear", "time_decay", "position"]


class ProgramOut(BaseModel):
    id: str
    name: str
    kind: str
    currency: str
    allowed_domains: list[str]
    link_params: list[str]
    cookie_days: int
    attribution_model: str
    hold_days: int
    min_payout_amount: int
    default_plan_id: str | None
    publishable_key: str
    stripe_webhook_secret_set: bool
    stripe_secret_key_set: bool = False
    stripe_test_mode: bool = True
    fallback_url: str | None
    link_domains: list[str] = []
    referral_rewards: ReferralRewards | None = None
    widget_secret: str | None = None  # keys the referral widget's tokens; shown to the secret key only
    created_at: datetime


_NOT_NULLABLE = (
    "name", "cookie_days", "hold_days", "min_payout_amount", "attribution_model", "allowed_domains", "link_params",
    "stripe_test_mode",
)  # fmt: skip


class ProgramPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    default_plan_id: str | None = None
    cookie_days: StrictInt | None = Field(default=None, ge=1, le=3650)
    hold_days: StrictInt | None = Field(default=None, ge=0, le=3650)
    min_payout_amount: StrictInt | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    attribution_model: AttributionModel | None = None
    allowed_domains: list[str] | None = Field(default=None, min_length=1, max_length=100)
    link_params: list[str] | None = Field(default=None, min_length=1, max_length=10)
    stripe_webhook_secret: str | None = Field(default=None, max_length=200)
    stripe_secret_key: str | None = Field(default=None, max_length=300)  # sealed at rest (kit/sealing.py), never echoed
    stripe_test_mode: bool | None = None
    fallback_url: str | None = Field(default=None, max_length=2000)
    link_domains: list[str] | None = Field(default=None, max_length=20)  # hosts where GET /{key} redirects
    referral_rewards: ReferralRewards | None = None  # null: referrals earn no rewards

    @model_validator(mode="before")
    @classmethod
    def _no_null_for_what_must_have_a_value(cls, data: Any) -> Any:
        """`null` clears only what may be empty (a default plan, a fallback URL, a Stripe key)."""
        if isinstance(data, dict):
            for field in _NOT_NULLABLE:
                if field in data and data[field] is None:
                    raise ValueError(f"{field} cannot be null")
        return data
