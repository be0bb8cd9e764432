"""Notifications: who asked not to hear about what (per program, address and kind), and the emails a
server without SMTP_URL kept so that a developer can open them (the "Sent emails" page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.models.base import Base, created_column, id_column


class NotificationPreference(Base):
    """One address's choice for one kind of notification in one program; no row: the kind's default (on)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("program_id", "email", "kind"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(40))
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = created_column()


class DevEmail(Base):
    """An email written to the log instead of sent (SMTP_URL unset), kept for the Sent emails page."""

    __tablename__ = "dev_emails"
    id: Mapped[str] = id_column()
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = created_column()
