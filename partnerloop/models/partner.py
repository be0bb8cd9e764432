from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.models.base import Base, created_column, id_column


class Partner(Base):
    """A person or company that promotes a workspace's programs."""

    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("workspace_id", "email"),)
    id: Mapped[str] = id_column()
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    website: Mapped[str | None] = mapped_column(String(500))  # where the partner promotes (profile)
    created_at: Mapped[datetime] = created_column()


class Enrollment(Base):
    """A partner's membership of one program: status, referral code, plan."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("program_id", "partner_id"),
        UniqueConstraint("program_id", "referral_code"),
    )
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="partner")
    status: Mapped[str] = mapped_column(String(20))
    referral_code: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id"))
    group_id: Mapped[str | None] = mapped_column(ForeignKey("partner_groups.id"), index=True)
    created_at: Mapped[datetime] = created_column()
    status_changed_at: Mapped[datetime | None]
    status_reason: Mapped[str | None] = mapped_column(String(1000))  # e.g. why an application was rejected
