from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.kit.ids import new_id
from partnerloop.kit.time import utc_now
from partnerloop.models.base import Base, Int64, created_column, id_column


class Link(Base):
    """A short link: /go/{key} redirects to destination_url. Deleting keeps the row (clicks point at it)."""

    __tablename__ = "links"
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    destination_url: Mapped[str] = mapped_column(String(2000))
    utm: Mapped[dict[str, Any] | None] = mapped_column()  # {"utm_source": "…", …} appended on redirect
    expires_at: Mapped[datetime | None]  # after it the link goes to fallback_url (or the program's)
    fallback_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now, index=True)
    deleted_at: Mapped[datetime | None]


class Click(Base):
    """One recorded click; its id is the click id handed to the merchant (pl_cid)."""

    __tablename__ = "clicks"
    # 64: a signed click id (tracking/click_ids.py); ids made before it are 26-character ULIDs.
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    link_id: Mapped[str] = mapped_column(ForeignKey("links.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    ip_truncated: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(1000))
    browser: Mapped[str | None] = mapped_column(String(64))
    os: Mapped[str | None] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(32))
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    # The same visitor (truncated IP + user agent) on the same link within an hour counts once; bots never.
    is_unique: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    visitor: Mapped[str | None] = mapped_column(String(32), index=True)  # hash of truncated IP + user agent
    referrer: Mapped[str | None] = mapped_column(String(2000))
    country: Mapped[str | None] = mapped_column(String(2))


class ClickRollup(Base):
    """Clicks per link and UTC day (the partner is the link's); summed per partner in reports."""

    __tablename__ = "click_rollups"
    # (program_id, day): reports read a window of days of one program (monitoring, migration 0004).
    __table_args__ = (UniqueConstraint("link_id", "day"), Index("ix_click_rollups_program_day", "program_id", "day"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    link_id: Mapped[str] = mapped_column(ForeignKey("links.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    clicks: Mapped[int] = mapped_column(Int64, default=0)
    bot_clicks: Mapped[int] = mapped_column(Int64, default=0)
    unique_clicks: Mapped[int] = mapped_column(Int64, default=0, server_default="0")
