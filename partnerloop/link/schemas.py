from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner_id: str
    destination_url: str = Field(max_length=2000)
    key: str | None = Field(default=None, max_length=64)


class LinkPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    destination_url: str = Field(max_length=2000)


class LinkOut(BaseModel):
    id: str
    key: str
    short_url: str
    destination_url: str
    partner_id: str
    clicks: int
    created_at: datetime


class LinkList(BaseModel):
    data: list[LinkOut]
    next_cursor: str | None
