"""The partner portal's own tables: the application form and its answers, the resource library, the welcome kit.

The onboarding checklist is not stored: it is derived from facts (profile, payout details, links, clicks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.kit.time import utc_now
from partnerloop.models.base import Base, created_column, id_column

DEFAULT_BRAND_COLOR = "#2454c5"


class ApplicationForm(Base):
    """A program's public application page: branding, terms, and whether applicants are approved at once."""

    __tablename__ = "application_forms"
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), primary_key=True)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_approve: Mapped[bool] = mapped_column(Boolean, default=False)
    headline: Mapped[str] = mapped_column(String(200), default="")
    intro: Mapped[str] = mapped_column(Text, default="")
    terms: Mapped[str] = mapped_column(Text, default="")
    brand_color: Mapped[str] = mapped_column(String(7), default=DEFAULT_BRAND_COLOR)
    logo_url: Mapped[str] = mapped_column(String(2000), default="", server_default="")  # an image, shown at the top
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class ApplicationQuestion(Base):
    """A custom question on the application form (kind: text, long_text, url, choice, checkbox)."""

    __tablename__ = "application_questions"
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20), default="text")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[list[Any]] = mapped_column(default=list)  # the choices of a `choice` question
    created_at: Mapped[datetime] = created_column()


class PartnerApplication(Base):
    """One partner's application to one program, with the decision."""

    __tablename__ = "partner_applications"
    __table_args__ = (UniqueConstraint("program_id", "partner_id"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # pending | approved | rejected
    website: Mapped[str | None] = mapped_column(String(500))
    terms_accepted_at: Mapped[datetime]
    created_at: Mapped[datetime] = created_column()
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(320))  # "auto" or the member's email


class ApplicationAnswer(Base):
    """An answer, with the question's label as it was asked (questions may change later)."""

    __tablename__ = "application_answers"
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("partner_applications.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str | None] = mapped_column(ForeignKey("application_questions.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    question_label: Mapped[str] = mapped_column(String(300))
    value: Mapped[str] = mapped_column(Text)


class Resource(Base):
    """An item of the resource library: a guide, brand asset, banner, video (by link) or swipe copy.

    `group_ids` empty: every approved partner sees it; else only partners in one of those groups.
    """

    __tablename__ = "resources"
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2000))
    body: Mapped[str | None] = mapped_column(Text)  # swipe copy or a guide's text
    group_ids: Mapped[list[Any]] = mapped_column(default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class WelcomeKit(Base):
    """What a newly approved partner reads first: a welcome, the program's guidelines, how to promote."""

    __tablename__ = "welcome_kits"
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), primary_key=True)
    welcome_message: Mapped[str] = mapped_column(Text, default="")
    guidelines: Mapped[str] = mapped_column(Text, default="")
    how_to_promote: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
