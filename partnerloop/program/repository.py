"""Programs, API keys and workspaces: all SQL for the program domain."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.kit.ids import sha256_hex
from partnerloop.models import ApiKey, Program


def program_for_api_key(session: Session, token: str) -> Program | None:
    return session.execute(
        select(Program)
        .join(ApiKey, ApiKey.program_id == Program.id)
        .where(ApiKey.key_hash == sha256_hex(token), ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()


def program_and_key_for_api_key(session: Session, token: str) -> tuple[Program, ApiKey] | None:
    """The program and the (unrevoked) key itself, to record who acted."""
    row = session.execute(
        select(Program, ApiKey)
        .join(ApiKey, ApiKey.program_id == Program.id)
        .where(ApiKey.key_hash == sha256_hex(token), ApiKey.revoked_at.is_(None))
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def program_id_for_api_key(session: Session, token: str) -> str | None:
    return session.execute(
        select(ApiKey.program_id).where(ApiKey.key_hash == sha256_hex(token), ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()


def get_program(session: Session, program_id: str) -> Program | None:
    return session.get(Program, program_id)


def program_by_publishable_key(session: Session, key: str) -> Program | None:
    return session.execute(select(Program).where(Program.publishable_key == key)).scalar_one_or_none()


def api_key_by_secret(session: Session, secret: str) -> ApiKey | None:
    """The key row of this secret, revoked or not."""
    return session.execute(select(ApiKey).where(ApiKey.key_hash == sha256_hex(secret))).scalar_one_or_none()


def api_keys_of(session: Session, program_id: str) -> list[ApiKey]:
    """Oldest first, revoked ones included."""
    statement = select(ApiKey).where(ApiKey.program_id == program_id).order_by(ApiKey.created_at)
    return list(session.execute(statement).scalars())


def api_key_of(session: Session, program_id: str, key_id: str) -> ApiKey | None:
    return session.execute(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.program_id == program_id)
    ).scalar_one_or_none()
