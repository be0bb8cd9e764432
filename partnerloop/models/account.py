"""Accounts: server-side login sessions, one-time tokens (reset, verification) and invitations.

Only SHA-256 hashes of the secrets are stored: a copy of the database opens no session or link.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.models.base import Base, created_column, id_column


class UserSession(Base):
    """A logged-in browser: valid until ended, idle too long, or past its absolute expiry."""

    __tablename__ = "user_sessions"
    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_column()
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class AccountToken(Base):
    """A one-time link sent by email: `reset` (password) or `verify` (email address)."""

    __tablename__ = "account_tokens"
    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Invitation(Base):
    """An invitation by email: `member` of a workspace with a role, or `partner` of a program."""

    __tablename__ = "invitations"
    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(20))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    program_id: Mapped[str | None] = mapped_column(ForeignKey("programs.id"), index=True)
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str | None] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class PartnerNote(Base):
    """A manager's note on a partner, shown on the partner's page in the dashboard."""

    __tablename__ = "partner_notes"
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    author_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(String(4000))
    created_at: Mapped[datetime] = created_column()
