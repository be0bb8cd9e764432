from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Utm(BaseModel):
    """UTM parameters appended to the destination on redirect (utm_source=…); a parameter the destination
    already carries is kept as it is."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(default=None, max_length=200)
    medium: str | None = Field(default=None, max_length=200)
    campaign: str | None = Field(default=None, max_length=200)
    term: str | None = Field(default=None, max_length=200)
    content: str | None = Field(default=None, max_length=200)


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner_id: str
    destination_url: str = Field(max_length=2000)
    key: str | None = Field(default=None, max_length=64)
    utm: Utm | None = None
    expires_at: AwareDatetime | None = None  # from then on: fallback_url, else the program's, else 410
    fallback_url: str | None = Field(default=None, max_length=2000)


class LinkPatch(BaseModel):
    """Only the fields given change; null clears utm, expires_at and fallback_url."""

    model_config = ConfigDict(extra="forbid")

    destination_url: str | None = Field(default=None, max_length=2000)
    utm: Utm | None = None
    expires_at: AwareDatetime | None = None
    fallback_url: str | None = Field(default=None, max_length=2000)


class LinkOut(BaseModel):
    id: str
    key: str
    short_url: str
    destination_url: str
    partner_id: str
    clicks: int
    unique_clicks: int = 0
    utm: Utm | None = None
    expires_at: datetime | None = None
    fallback_url: str | None = None
    created_at: datetime


class LinkList(BaseModel):
    data: list[LinkOut]
    next_cursor: str | None
