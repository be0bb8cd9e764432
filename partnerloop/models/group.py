from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.models.base import Base, created_column, id_column


class Group(Base):
    """A tier of partners (Bronze / Silver / Gold) pointing at a commission plan."""

    __tablename__ = "partner_groups"
    __table_args__ = (UniqueConstraint("program_id", "name"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id"))
    created_at: Mapped[datetime] = created_column()
