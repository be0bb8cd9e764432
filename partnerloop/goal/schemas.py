from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class GoalIn(BaseModel):
    """A goal: `target` is a number (revenue in minor units, rates as fractions: 0.15) or
    {"relative_pct": 25} against the window of the same length before `start` (default: now)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    metric: str = Field(min_length=1, max_length=30)
    target: Any
    start: AwareDatetime | None = None
    end: AwareDatetime
    partner_id: str | None = Field(default=None, max_length=26)
    group_id: str | None = Field(default=None, max_length=26)
