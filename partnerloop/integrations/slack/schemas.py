from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SlackIn(BaseModel):
    """PUT /api/v1/integrations/slack: the incoming-webhook URL (may be left out to keep the stored one)."""

    webhook_url: str | None = Field(default=None, max_length=2000)
    events: list[str] = Field(default_factory=list, max_length=10)
    sale_min_amount: int = Field(default=0, ge=0)


class SlackOut(BaseModel):
    connected: bool
    webhook_url: str | None  # masked: the URL is a secret
    events: list[str]
    sale_min_amount: int
    last_posted_at: datetime | None
    last_error: str | None
