from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

GroupName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class TierRuleIn(BaseModel):
    """When partners move from this group to another (a tier's promotion or demotion); checked by engagement."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    period: str
    threshold: int
    to_group_id: str
    months: int | None = None  # the retention metric only: still paying this many months after the first payment


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: GroupName
    plan_id: str | None = None
    rank: int | None = Field(default=None, ge=1, le=1000)
    promotion: TierRuleIn | None = None
    demotion: TierRuleIn | None = None
    perks: list[str] | None = None


class GroupPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: GroupName | None = None
    plan_id: str | None = None
    rank: int | None = Field(default=None, ge=1, le=1000)
    promotion: TierRuleIn | None = None
    demotion: TierRuleIn | None = None
    perks: list[str] | None = None


class GroupOut(BaseModel):
    id: str
    name: str
    plan_id: str | None
    partners: int
    created_at: datetime
    rank: int | None = None
    promotion: dict[str, Any] | None = None
    demotion: dict[str, Any] | None = None
    perks: list[str] = []


class GroupList(BaseModel):
    data: list[GroupOut]
    next_cursor: str | None
