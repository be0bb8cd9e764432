from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.kit.time import utc_now
from partnerloop.models.base import Base, created_column, id_column


class FxRate(Base):
    """A program's exchange rate for one day: 1 `base` = `rate` `quote`.

    The rate is kept exactly as decimal text (SQLite would store a NUMERIC as a binary float).
    """

    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("program_id", "base", "quote", "day"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    day: Mapped[date] = mapped_column(Date)
    rate: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(50), default="api")
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
