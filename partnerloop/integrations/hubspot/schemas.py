from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class HubSpotIn(BaseModel):
    """PUT /api/v1/integrations/hubspot: the private-app access token (may be left out to keep the stored one)."""

    access_token: str | None = Field(default=None, max_length=500)


class HubSpotOut(BaseModel):
    connected: bool
    access_token: str | None  # masked: the token is a secret
    last_synced_at: datetime | None
    last_error: str | None
