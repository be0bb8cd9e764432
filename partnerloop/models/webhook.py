"""Outbound webhooks: endpoints, the event outbox, one delivery per (event, endpoint), its attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.models.base import Base, created_column, id_column


class WebhookEndpoint(Base):
    """A merchant's URL subscribed to event types (or "*"); its signing secret is Fernet-encrypted."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(500))
    events: Mapped[list[Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16))  # active | paused | disabled
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    # After a rotation the old secret keeps signing (a second signature) until this time.
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column()
    # Since when every attempt failed (None after a success): five days of it disable the endpoint.
    failing_since: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime | None] = mapped_column()


class WebhookEvent(Base):
    """The outbox: one row per event, written in the transaction of the change that caused it.

    `body` is the exact JSON text signed and sent on every attempt; the id is the `webhook-id`.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_program_created", "program_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_column()


class WebhookDelivery(Base):
    """One event to one endpoint: pending until it succeeds, fails for good or is canceled."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # pending | succeeded | failed | canceled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The job that may make the next attempt carries this token; a retry by hand replaces it.
    attempt_token: Mapped[str | None] = mapped_column(String(26))
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_column()


class WebhookAttempt(Base):
    """One HTTP request of a delivery: what was sent and what came back."""

    __tablename__ = "webhook_attempts"
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column()
    url: Mapped[str] = mapped_column(Text)
    request_headers: Mapped[dict[str, Any]] = mapped_column()
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
