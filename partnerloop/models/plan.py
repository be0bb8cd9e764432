from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.kit.time import utc_now
from partnerloop.models.base import Base, created_column, id_column


class Plan(Base):
    """An ordered list of commission rules (validated JSON, see plan/schemas.py)."""

    __tablename__ = "plans"
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    rules: Mapped[list[Any]] = mapped_column()
    bonuses: Mapped[list[Any]] = mapped_column(default=list)  # plan-level bonuses (validated JSON)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
