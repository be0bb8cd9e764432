"""Programs: creation with workspace, owner and keys; settings changes."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.config import Settings
from partnerloop.kit.crypto import hash_password
from partnerloop.kit.errors import AppError, InvalidInput, NotFound
from partnerloop.kit.ids import new_secret, sha256_hex
from partnerloop.kit.money import normalize_currency
from partnerloop.kit.time import utc_now
from partnerloop.kit.urls import check_destination, normalize_domain
from partnerloop.models import ApiKey, Member, Plan, Program, User, Workspace
from partnerloop.program import repository
from partnerloop.program.referral_settings import ReferralRewards
from partnerloop.program.schemas import ProgramOut, ProgramPatch
from partnerloop.program.stripe_secrets import (
    has_stripe_secret_key,
    has_stripe_webhook_secret,
    set_stripe_secret_key,
    set_stripe_webhook_secret,
)

SECRET_KEY_PREFIX = "pl_sk_"
SECRET_KEY_BYTES = 32  # 256 random bits; keys minted before (192 bits) keep working, as only hashes are looked up
PUBLISHABLE_KEY_PREFIX = "pl_pk_"
_LINK_PARAM = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
PROGRAM_KINDS = ("affiliate", "referral")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ProgramError(AppError):
    status_code = 422


class OwnerEmailTaken(ProgramError):
    status_code = 409


@dataclass(frozen=True)
class CreatedProgram:
    program: Program
    api_key: str  # shown once: only its hash is stored
    owner_email: str


def is_email(text: str) -> bool:
    return bool(_EMAIL.match(text)) and len(text) <= 320


def issue_api_key(session: Session, program: Program, name: str) -> str:
    """Create a secret key for the program and return it; only its hash is kept."""
    secret = new_secret(SECRET_KEY_PREFIX, SECRET_KEY_BYTES)
    session.add(ApiKey(program_id=program.id, name=name, key_hash=sha256_hex(secret), key_prefix=secret[:10]))
    return secret


def keep_api_key(session: Session, program: Program, name: str, secret: str) -> str:
    """Make `secret` (a key the caller derived, e.g. the demo's) a key of the program unless it is one
    already; return it. Lets `partnerloop demo` print the same working key on every start. Revoked by a
    manager: it stays revoked, and a fresh key is issued instead."""
    row = repository.api_key_by_secret(session, secret)
    if row is None:
        session.add(ApiKey(program_id=program.id, name=name, key_hash=sha256_hex(secret), key_prefix=secret[:10]))
        session.flush()
        return secret
    if row.revoked_at is not None or row.program_id != program.id:
        return issue_api_key(session, program, name)
    return secret


def program_for_api_key(session: Session, token: str) -> Program | None:
    """The program whose unrevoked secret key this is, else None."""
    return repository.program_for_api_key(session, token)


def program_and_key_for_api_key(session: Session, token: str) -> tuple[Program, ApiKey] | None:
    """The program and the unrevoked secret key itself (its id counts the key's requests), else None."""
    return repository.program_and_key_for_api_key(session, token)


def program_id_for_api_key(session: Session, token: str) -> str | None:
    return repository.program_id_for_api_key(session, token)


def program_by_publishable_key(session: Session, key: str) -> Program | None:
    """The program of a publishable (browser) key, else None."""
    return repository.program_by_publishable_key(session, key)


def api_keys_of(session: Session, program_id: str) -> list[ApiKey]:
    """The program's API keys, oldest first, revoked ones included (only hashes and prefixes are kept)."""
    return repository.api_keys_of(session, program_id)


def revoke_api_key(session: Session, program: Program, key_id: str) -> ApiKey:
    """Revoke the program's key (once: revoking again keeps the first time); NotFound for any other key."""
    key = repository.api_key_of(session, program.id, key_id)
    if key is None:
        raise NotFound("No such API key in this program.")
    if key.revoked_at is None:
        key.revoked_at = utc_now()
        session.flush()
    return key


def create_program(
    session: Session,
    *,
    name: str,
    domains: list[str],
    currency: str = "usd",
    owner_email: str,
    owner_password: str | None,
    kind: str = "affiliate",
    workspace_id: str | None = None,
) -> CreatedProgram:
    """A workspace, its owner (user + owner membership), the program and a first API key; with `workspace_id`
    (a manager's "New program" form, the caller checked their role), the program joins that workspace."""
    if not name.strip():
        raise ProgramError("The program needs a name.")
    if kind not in PROGRAM_KINDS:
        raise ProgramError(f"kind is 'affiliate' or 'referral', not '{kind}'.")
    if not domains:
        raise ProgramError("Give at least one allowed destination domain (--domain example.com).")
    owner_email = owner_email.strip().lower()
    if not is_email(owner_email):
        raise ProgramError(f"'{owner_email}' is not an email address.")
    if owner_password is not None and len(owner_password) < 8:
        raise ProgramError("The owner's password must have at least 8 characters.")
    allowed = sorted({normalize_domain(domain) for domain in domains})
    if workspace_id is not None:
        return _add_program(session, workspace_id, name, kind, currency, allowed, owner_email)
    workspace = Workspace(name=name.strip())
    session.add(workspace)
    user = session.execute(select(User).where(User.email == owner_email)).scalar_one_or_none()
    if user is None:
        user = User(email=owner_email, password_hash=hash_password(owner_password) if owner_password else None)
        session.add(user)
    elif owner_password is not None:
        raise OwnerEmailTaken(f"A user with email {owner_email} exists already; omit the password to reuse it.")
    session.flush()
    session.add(Member(workspace_id=workspace.id, user_id=user.id, role="owner"))
    return _add_program(session, workspace.id, name, kind, currency, allowed, owner_email)


def _add_program(
    session: Session, workspace_id: str, name: str, kind: str, currency: str, allowed: list[str], owner_email: str
) -> CreatedProgram:
    program = Program(
        workspace_id=workspace_id,
        name=name.strip(),
        kind=kind,
        currency=normalize_currency(currency),
        allowed_domains=allowed,
        publishable_key=new_secret(PUBLISHABLE_KEY_PREFIX, 18),
        widget_secret=secrets.token_hex(32),
    )
    session.add(program)
    session.flush()
    secret = issue_api_key(session, program, "Default key")
    session.flush()
    return CreatedProgram(program=program, api_key=secret, owner_email=owner_email)


def program_out(program: Program) -> ProgramOut:
    return ProgramOut(
        id=program.id,
        name=program.name,
        kind=program.kind,
        currency=program.currency,
        allowed_domains=list(program.allowed_domains),
        link_params=list(program.link_params),
        cookie_days=program.cookie_days,
        attribution_model=program.attribution_model,
        hold_days=program.hold_days,
        min_payout_amount=program.min_payout_amount,
        default_plan_id=program.default_plan_id,
        publishable_key=program.publishable_key,
        stripe_webhook_secret_set=has_stripe_webhook_secret(program),
        stripe_secret_key_set=has_stripe_secret_key(program),
        stripe_test_mode=program.stripe_test_mode,
        fallback_url=program.fallback_url,
        link_domains=list(program.link_domains or []),
        referral_rewards=ReferralRewards.model_validate(program.referral_rewards) if program.referral_rewards else None,
        widget_secret=program.widget_secret,
        created_at=program.created_at,
    )


class LinkDomainTaken(ProgramError):
    status_code = 409


def _link_domains(session: Session, program: Program, domains: list[str]) -> list[str]:
    """Normalized link domains, each served by one program only (a lookup: JSON lists have no unique index;
    should two programs race to one host, the link cache serves it to one of them, deterministically)."""
    hosts = sorted({normalize_domain(domain) for domain in domains})
    if hosts:
        others = session.execute(select(Program.id, Program.link_domains).where(Program.id != program.id))
        for _other_id, taken in others:
            clash = set(hosts) & set(taken or [])
            if clash:
                raise LinkDomainTaken(f"The link domain {sorted(clash)[0]} is used by another program.")
    return hosts


def update_program(
    session: Session, program: Program, patch: ProgramPatch, settings: Settings | None = None
) -> Program:
    """Apply the given settings; every value is checked before anything changes. The Stripe secrets are
    sealed with `settings`' keys (None: the app's)."""
    changes = patch.model_dump(exclude_unset=True)
    stripe_secrets = {
        field: changes.pop(field) for field in ("stripe_webhook_secret", "stripe_secret_key") if field in changes
    }
    if "default_plan_id" in changes and changes["default_plan_id"] is not None:
        plan = session.get(Plan, changes["default_plan_id"])
        if plan is None or plan.program_id != program.id:
            raise NotFound(f"No plan {changes['default_plan_id']} in this program.")
    if "allowed_domains" in changes:
        changes["allowed_domains"] = sorted({normalize_domain(domain) for domain in changes["allowed_domains"]})
    if "link_params" in changes:
        for param in changes["link_params"]:
            if not _LINK_PARAM.match(param):
                raise InvalidInput(f"'{param}' is not a usable link parameter name.")
    if "link_domains" in changes:
        changes["link_domains"] = _link_domains(session, program, changes["link_domains"] or [])
    if patch.referral_rewards is not None:  # stored whole, defaults included
        changes["referral_rewards"] = patch.referral_rewards.model_dump()
    if changes.get("fallback_url"):
        check_destination(changes["fallback_url"], changes.get("allowed_domains", program.allowed_domains))
    for field in ("name", "cookie_days", "hold_days", "min_payout_amount", "attribution_model", "stripe_test_mode"):
        if field in changes and changes[field] is None:
            raise InvalidInput(f"{field} cannot be null.")
    for field, value in changes.items():
        setattr(program, field, value)
    if "stripe_webhook_secret" in stripe_secrets:
        set_stripe_webhook_secret(program, stripe_secrets["stripe_webhook_secret"], settings)
    if "stripe_secret_key" in stripe_secrets:
        set_stripe_secret_key(program, stripe_secrets["stripe_secret_key"], settings)
    session.flush()
    return program
