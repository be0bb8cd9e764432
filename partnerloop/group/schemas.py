from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

GroupName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: GroupName
    plan_id: str | None = None


class GroupPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: GroupName | None = None
    plan_id: str | None = None


class GroupOut(BaseModel):
    id: str
    name: str
    plan_id: str | None
    partners: int
    created_at: datetime


class GroupList(BaseModel):
    data: list[GroupOut]
    next_cursor: str | None
