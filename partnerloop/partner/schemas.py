from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from partnerloop.partner.rules import BanCommissions


class PartnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    status: Literal["approved", "pending", "invited"] | None = None
    referral_code: str | None = Field(default=None, min_length=3, max_length=64)
    country: str | None = Field(default=None, min_length=2, max_length=2)
    website: str | None = Field(default=None, max_length=500)  # where the partner promotes (alerts check coupons)
    plan_id: str | None = None
    group_id: str | None = None


class PartnerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    country: str | None = Field(default=None, min_length=2, max_length=2)
    website: str | None = Field(default=None, max_length=500)
    plan_id: str | None = None
    group_id: str | None = None


class BanIn(BaseModel):
    """The optional body of a ban: what becomes of the partner's commissions that are not approved yet."""

    model_config = ConfigDict(extra="forbid")

    commissions: BanCommissions = BanCommissions.REJECT


class PartnerOut(BaseModel):
    id: str
    email: str
    name: str
    status: str
    referral_code: str
    country: str | None
    website: str | None = None
    plan_id: str | None
    group_id: str | None = None
    created_at: datetime
    perks: dict[str, Any] | None = None  # GET /api/v1/partners/{id}: the tier's perks, e.g. {"early_access": true}


class PartnerList(BaseModel):
    data: list[PartnerOut]
    next_cursor: str | None
