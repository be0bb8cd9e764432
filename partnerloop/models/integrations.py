"""Outbound integrations on the event outbox: a program's Slack channel and HubSpot CRM."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.kit.time import utc_now
from partnerloop.models.base import Base


class SlackConnection(Base):
    """A program's Slack incoming-webhook URL (Fernet-encrypted: it is a secret) and what posts there."""

    __tablename__ = "slack_connections"
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), primary_key=True)
    webhook_url_encrypted: Mapped[str] = mapped_column(Text)
    webhook_url_hint: Mapped[str] = mapped_column(String(40))  # the masked URL shown back
    events: Mapped[list[Any]] = mapped_column(default=list)  # choices of integrations/slack/rules.CHOICES
    sale_min_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # minor units of the program currency
    last_posted_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class HubSpotConnection(Base):
    """A program's HubSpot private-app token (Fernet-encrypted: it is a secret) and how its sync went."""

    __tablename__ = "hubspot_connections"
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), primary_key=True)
    token_encrypted: Mapped[str] = mapped_column(Text)
    token_hint: Mapped[str] = mapped_column(String(40))  # the masked token shown back
    last_synced_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
