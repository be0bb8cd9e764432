"""Referral payloads: the program's reward settings, advocates and rewards in and out."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AdvocateIn(_Closed):
    customer_external_id: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    stripe_customer_id: str | None = Field(default=None, min_length=1, max_length=255)
    destination_url: str | None = Field(default=None, max_length=2000)  # default: the program's site


class RewardOut(BaseModel):
    id: str
    advocate_id: str
    referral_id: str
    side: str
    type: str
    amount: int | None
    currency: str
    percent: int | None = None
    duration_months: int | None = None
    code: str | None = None
    status: str
    reason: str | None = None
    external_ref: str | None = None
    last_error: str | None = None
    attempts: int = 0
    due_at: datetime
    issued_at: datetime | None = None
    created_at: datetime


class AdvocateOut(BaseModel):
    id: str
    customer_external_id: str
    email: str
    name: str | None
    stripe_customer_id: str | None
    referral_code: str
    share_url: str
    partner_id: str
    link_id: str
    referrals_count: int
    rewards: list[RewardOut]
    created_at: datetime


class MarkIssuedIn(_Closed):
    reference: str = Field(min_length=1, max_length=255)
