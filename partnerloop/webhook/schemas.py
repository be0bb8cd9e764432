from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
EventName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    events: list[EventName] = Field(min_length=1, max_length=100)
    description: Description | None = None


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=100)
    description: Description | None = None
    status: Literal["active", "paused"] | None = None


class EndpointOut(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    status: str
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime | None


class EndpointWithSecret(EndpointOut):
    secret: str  # shown once: at creation and at rotation


class EndpointList(BaseModel):
    data: list[EndpointOut]
    next_cursor: str | None


class TestEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: EventName | None = None


class AttemptOut(BaseModel):
    number: int
    attempted_at: datetime
    url: str
    request_headers: dict[str, Any]
    status_code: int | None
    response_excerpt: str | None
    duration_ms: int
    error: str | None


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    event_id: str  # the webhook-id header, the same on every attempt
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    request_body: dict[str, Any]
    attempt_log: list[AttemptOut]


class DeliveryList(BaseModel):
    data: list[DeliveryOut]
    next_cursor: str | None


class EventTypeOut(BaseModel):
    type: str
    description: str
    resource: str
    example: dict[str, Any]


class EventTypeList(BaseModel):
    data: list[EventTypeOut]
    next_cursor: str | None = None
