from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class WebhookAnswer(BaseModel):
    received: bool


class StripeEventOut(BaseModel):
    id: str
    event_id: str
    type: str
    livemode: bool
    status: str  # received | waiting | processed | ignored | failed
    error: str | None  # why it was ignored or failed, or what it waits for
    waiting_for: str | None
    created: datetime | None
    received_at: datetime
    processed_at: datetime | None
    payload: dict[str, Any] | None = None  # in the single-event answer


class StripeEventList(BaseModel):
    data: list[StripeEventOut]
    next_cursor: str | None
