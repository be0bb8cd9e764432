"""Notifications by email: each kind of notice goes to the people it concerns unless they turned it off,
in the program's branding, saying why it came, with a one-click unsubscribe (RFC 8058). Emails are queued in
the caller's transaction (notify/email.py), so an SMTP outage delays them and loses none."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from partnerloop.config import Settings
from partnerloop.kit.errors import InvalidInput
from partnerloop.kit.time import utc_now
from partnerloop.models import ApplicationForm, DevEmail, NotificationPreference, Partner, Program
from partnerloop.notify import unsubscribe
from partnerloop.notify.compose import Action, Brand, compose
from partnerloop.notify.email import email_settings, enqueue_email
from partnerloop.notify.kinds import BY_KEY, Audience, Kind, kinds_for, parse_scope, scope_of, why_sent
from partnerloop.notify.recipients import manager_emails

__all__ = ["Action", "notify", "notify_managers", "notify_partner"]


class UnknownNotification(InvalidInput):
    pass


# ------------------------------------------------------------------------------------- preferences


def disabled_kinds(session: Session, program_id: str, emails: list[str]) -> set[tuple[str, str]]:
    """(email, kind) pairs turned off in the program, for these addresses."""
    if not emails:
        return set()
    rows = session.execute(
        select(NotificationPreference.email, NotificationPreference.kind).where(
            NotificationPreference.program_id == program_id,
            NotificationPreference.email.in_([email.lower() for email in emails]),
            NotificationPreference.enabled.is_(False),
        )
    ).all()
    return {(str(email), str(kind)) for email, kind in rows}


def set_preference(session: Session, program_id: str, email: str, kind: str, *, enabled: bool, now: datetime) -> None:
    """Turn one kind on or off for an address in a program (an upsert on its unique key)."""
    if kind not in BY_KEY:
        raise UnknownNotification(f"kind: '{kind}' is not a kind of notification.")
    email = email.lower()
    query = select(NotificationPreference).where(
        NotificationPreference.program_id == program_id,
        NotificationPreference.email == email,
        NotificationPreference.kind == kind,
    )
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    NotificationPreference(
                        program_id=program_id, email=email, kind=kind, enabled=enabled, updated_at=now
                    )
                )
            return
        except IntegrityError:  # the same choice saved at the same moment elsewhere: update that row
            row = session.execute(query).scalar_one()
    row.enabled = enabled
    row.updated_at = now
    session.flush()


@dataclass(frozen=True)
class ProgramChoices:
    program: Program
    audience: Audience
    choices: list[tuple[Kind, bool]]  # each kind with whether it is on


def choices_of(session: Session, email: str, programs: list[tuple[Program, Audience]]) -> list[ProgramChoices]:
    """The account page's table: for each program (as partner or on the team), every kind and its state."""
    out: list[ProgramChoices] = []
    for program, audience in programs:
        off = disabled_kinds(session, program.id, [email])
        kinds = kinds_for(audience)
        out.append(ProgramChoices(program, audience, [(kind, (email.lower(), kind.key) not in off) for kind in kinds]))
    return out


def save_choices(
    session: Session, email: str, programs: list[tuple[Program, Audience]], checked: set[str], now: datetime
) -> None:
    """Store the account page's form: `checked` holds "program_id:kind" for every box ticked; the rest are off.
    A box of a program or kind not on the page is refused (422) and nothing is saved."""
    allowed = {f"{program.id}:{kind.key}" for program, audience in programs for kind in kinds_for(audience)}
    stray = sorted(checked - allowed)
    if stray:
        raise UnknownNotification(f"notifications: '{stray[0]}' is not one of your programs' notifications.")
    for program, audience in programs:
        for kind in kinds_for(audience):
            set_preference(session, program.id, email, kind.key, enabled=f"{program.id}:{kind.key}" in checked, now=now)


def stop_by_scope(session: Session, parts: list[str]) -> Program | None:
    """The `notify` unsubscribe topic: turn off one kind for one address in one program."""
    found = parse_scope(":".join(["notify", *parts]))
    if found is None:
        return None
    program_id, kind, email = found
    program = session.get(Program, program_id)
    if program is not None:
        set_preference(session, program_id, email, kind, enabled=False, now=utc_now())
    return program


unsubscribe.add_topic("notify", stop_by_scope)


# ------------------------------------------------------------------------------------------ sending


def brand_of(session: Session, program: Program) -> Brand:
    color = session.execute(
        select(ApplicationForm.brand_color).where(ApplicationForm.program_id == program.id)
    ).scalar_one_or_none()
    return Brand(program_name=program.name, color=color) if color else Brand(program_name=program.name)


def notify(
    session: Session,
    program: Program,
    kind: str,
    recipients: list[str],
    *,
    subject: str,
    lines: list[str],
    action: Action | None = None,
    settings: Settings | None = None,
) -> int:
    """Queue the notice to every recipient who has not turned `kind` off in the program; return how many."""
    known = BY_KEY.get(kind)
    if known is None:
        raise UnknownNotification(f"kind: '{kind}' is not a kind of notification.")
    settings = settings or email_settings()
    wanted = list(dict.fromkeys(address.lower() for address in recipients if address))
    off = disabled_kinds(session, program.id, wanted)
    brand = brand_of(session, program)
    base = settings.base_url.rstrip("/")
    sent = 0
    for address in wanted:
        if (address, kind) in off:
            continue
        leave = unsubscribe.url(settings, scope_of(program.id, kind, address))
        email = compose(
            brand, subject=subject, lines=lines, action=action, why=why_sent(known, program.name),
            unsubscribe_url=leave, settings_url=f"{base}/account#notifications",
        )  # fmt: skip
        enqueue_email(
            session, to=address, subject=email.subject, text=email.text, html=email.html,
            headers=unsubscribe.headers(leave),
        )  # fmt: skip
        sent += 1
    return sent


def notify_managers(
    session: Session, program: Program, kind: str, *, subject: str, lines: list[str], action: Action | None = None
) -> int:
    """The notice to the program's owners, admins and managers (viewers are not told)."""
    recipients = manager_emails(session, program)
    return notify(session, program, kind, recipients, subject=subject, lines=lines, action=action)


def notify_partner(
    session: Session, program: Program, partner_id: str, kind: str, *, subject: str, lines: list[str],
    action: Action | None = None,
) -> int:  # fmt: skip
    """The notice to one partner of the program (by their partner email)."""
    email = session.execute(
        select(Partner.email).where(Partner.id == partner_id, Partner.workspace_id == program.workspace_id)
    ).scalar_one_or_none()
    if email is None:
        return 0
    return notify(session, program, kind, [str(email)], subject=subject, lines=lines, action=action)


# ------------------------------------------------------------------------- emails kept without SMTP


def kept_emails(session: Session, *, to: Collection[str], limit: int) -> list[DevEmail]:
    """The newest emails kept instead of sent (SMTP_URL unset) to these addresses, newest first."""
    if not to:
        return []
    statement = select(DevEmail).where(DevEmail.to_address.in_(sorted(to))).order_by(DevEmail.id.desc())
    return list(session.execute(statement.limit(limit)).scalars())


def kept_email(session: Session, email_id: str, *, to: Collection[str]) -> DevEmail | None:
    """The kept email, when it went to one of these addresses."""
    email = session.get(DevEmail, email_id)
    return email if email is not None and email.to_address in to else None
