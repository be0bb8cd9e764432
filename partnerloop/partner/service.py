"""Partners: enrol, change status, look up."""

from __future__ import annotations

import re
import secrets
from typing import Any, Protocol

from sqlalchemy.orm import Session

from partnerloop.kit.errors import AppError, Conflict, NotFound
from partnerloop.kit.pagination import page_of, paginate
from partnerloop.kit.time import utc_now
from partnerloop.kit.urls import website_host
from partnerloop.models import Enrollment, Group, Partner, Plan, Program
from partnerloop.partner import repository
from partnerloop.partner.rules import BanCommissions, EnrollmentStatus, next_status
from partnerloop.partner.schemas import PartnerIn, PartnerOut, PartnerPatch
from partnerloop.program.service import is_email
from partnerloop.webhook.service import emit


class PartnerError(AppError):
    status_code = 422


class PartnerNotFound(NotFound):
    pass


class PartnerExists(Conflict):
    pass


class StatusChangeNotAllowed(Conflict):
    pass


class SettleCommissions(Protocol):
    """The commission domain's `settle_for_ban`, handed in by the caller: the partner domain does not
    import commission (commission reads enrollments, so that import would make a circle)."""

    def __call__(
        self, session: Session, program: Program, partner_id: str, choice: BanCommissions, *, actor: str
    ) -> int: ...


class PerksOf(Protocol):
    """The engagement domain's perks of a partner's tier, handed in by deps.py (engagement moves partners
    through this module, so importing it back would make a circle)."""

    def __call__(self, session: Session, program_id: str, group_id: str | None) -> dict[str, Any] | None: ...


_CODE_CHARS = re.compile(r"[^a-z0-9]+")
_CODE_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")


def _code_from_name(name: str) -> str:
    stem = _CODE_CHARS.sub("", name.lower())[:12] or "partner"
    return f"{stem}{secrets.randbelow(9000) + 1000}"


def _website(website: str | None) -> str | None:
    """The partner's website as given (None when blank); 422 naming the field when it names no host."""
    if website is None or not website.strip():
        return None
    if website_host(website) is None:
        raise PartnerError(f"website: '{website}' is not a website (expected e.g. 'blog.example.com').")
    return website.strip()


def partner_out(partner: Partner, enrollment: Enrollment) -> PartnerOut:
    return PartnerOut(
        id=partner.id,
        email=partner.email,
        name=partner.name,
        status=enrollment.status,
        referral_code=enrollment.referral_code,
        country=partner.country,
        website=partner.website,
        plan_id=enrollment.plan_id,
        group_id=enrollment.group_id,
        created_at=enrollment.created_at,
    )


def _check_plan(session: Session, program: Program, plan_id: str | None) -> None:
    if plan_id is None:
        return
    plan = session.get(Plan, plan_id)
    if plan is None or plan.program_id != program.id:
        raise NotFound(f"No plan {plan_id} in this program.")


def _check_group(session: Session, program: Program, group_id: str | None) -> None:
    if group_id is None:
        return
    group = session.get(Group, group_id)
    if group is None or group.program_id != program.id:
        raise NotFound(f"No group {group_id} in this program.")


def enroll_partner(
    session: Session, program: Program, body: PartnerIn, *, kind: str = "partner"
) -> tuple[Partner, Enrollment]:
    """Create (or reuse, by email) the workspace's partner and enrol them in the program (`kind`
    `advocate` for a customer advocate, whom referral/service creates)."""
    email = body.email.strip().lower()
    if not is_email(email):
        raise PartnerError(f"'{body.email}' is not an email address.")
    website = _website(body.website)
    _check_plan(session, program, body.plan_id)
    _check_group(session, program, body.group_id)
    partner = repository.partner_by_email(session, program.workspace_id, email)
    if partner is None:
        partner = Partner(
            workspace_id=program.workspace_id,
            email=email,
            name=body.name.strip(),
            country=body.country.lower() if body.country else None,
            website=website,
        )
        session.add(partner)
        session.flush()
    elif repository.get_enrolled(session, program.id, partner.id) is not None:
        raise PartnerExists(f"{email} is already a partner of this program (id {partner.id}).")
    if body.referral_code is not None:
        if not _CODE_SHAPE.match(body.referral_code):
            raise PartnerError("referral_code takes 3 to 64 letters, digits, '-' or '_'.")
        code = body.referral_code
        if repository.referral_code_taken(session, program.id, code):
            raise PartnerExists(f"The referral code '{code}' is taken.")
    else:
        code = _code_from_name(body.name)
        while repository.referral_code_taken(session, program.id, code):
            code = _code_from_name(body.name)
    enrollment = Enrollment(
        program_id=program.id,
        partner_id=partner.id,
        kind=kind,
        status=body.status or EnrollmentStatus.APPROVED.value,
        referral_code=code,
        plan_id=body.plan_id,
        group_id=body.group_id,
    )
    session.add(enrollment)
    session.flush()
    emit(session, program.id, "partner.created", partner_out(partner, enrollment).model_dump(mode="json"))
    return partner, enrollment


def enrollment_of(session: Session, program_id: str, partner_id: str) -> Enrollment | None:
    """The partner's enrollment in the program (any status), or None."""
    return repository.enrollment_of(session, program_id, partner_id)


def enrollment_by_code(session: Session, program_id: str, referral_code: str) -> Enrollment | None:
    """The enrollment with this referral code in the program (any status), or None."""
    return repository.enrollment_by_code(session, program_id, referral_code)


def partner_by_email(session: Session, workspace_id: str, email: str) -> Partner | None:
    """The workspace's partner with this (normalized) email, enrolled anywhere or not."""
    return repository.partner_by_email(session, workspace_id, email)


def emails_of_workspace(session: Session, workspace_id: str) -> set[str]:
    """Every partner's email in the workspace, whatever their status."""
    return repository.emails_of_workspace(session, workspace_id)


def get_partner(session: Session, program: Program, partner_id: str) -> tuple[Partner, Enrollment]:
    found = repository.get_enrolled(session, program.id, partner_id)
    if found is None:
        raise PartnerNotFound(f"No partner {partner_id} in this program.")
    return found


def list_partners(
    session: Session, program: Program, *, status: str | None, cursor: str | None, limit: int
) -> tuple[list[tuple[Partner, Enrollment]], str | None]:
    statement = repository.enrolled(program.id).where(Enrollment.kind == "partner")  # advocates: /advocates
    if status:
        statement = statement.where(Enrollment.status == status)
    rows = [(row[0], row[1]) for row in session.execute(paginate(statement, Partner.id, cursor, limit)).all()]
    return page_of(rows, limit, lambda row: row[0].id)


def change_status(session: Session, program: Program, partner_id: str, action: str) -> tuple[Partner, Enrollment]:
    """approve | reject | deactivate | unban a partner; a ban settles their commissions too, so it is
    `ban_partner`. An unban leaves the commissions as the ban settled them."""
    if action == "ban":
        raise StatusChangeNotAllowed("A ban settles the partner's commissions: it goes through ban_partner.")
    return _move(session, program, partner_id, action)


def _move(session: Session, program: Program, partner_id: str, action: str) -> tuple[Partner, Enrollment]:
    partner, enrollment = get_partner(session, program, partner_id)
    current = EnrollmentStatus(enrollment.status)
    target = next_status(current, action)
    if target is None:
        raise StatusChangeNotAllowed(f"A partner who is {current.value} cannot be asked to {action}.")
    enrollment.status = target.value
    enrollment.status_changed_at = utc_now()
    session.flush()
    if target is EnrollmentStatus.APPROVED:
        emit(session, program.id, "partner.approved", partner_out(partner, enrollment).model_dump(mode="json"))
    return partner, enrollment


def ban_partner(
    session: Session,
    program: Program,
    partner_id: str,
    commissions: BanCommissions,
    *,
    settle: SettleCommissions,
    actor: str,
) -> tuple[Partner, Enrollment]:
    """Ban the partner, then have `settle` reject or hold their unpaid commissions (`commissions`).

    The enrollment changes first: its row lock makes the approval job wait for this ban, so a
    commission the settlement cannot see yet is not approved either."""
    partner, enrollment = _move(session, program, partner_id, "ban")
    settle(session, program, partner_id, commissions, actor=actor)
    return partner, enrollment


def update_partner(
    session: Session, program: Program, partner_id: str, patch: PartnerPatch
) -> tuple[Partner, Enrollment]:
    partner, enrollment = get_partner(session, program, partner_id)
    changes = patch.model_dump(exclude_unset=True)
    if "plan_id" in changes:
        _check_plan(session, program, changes["plan_id"])
        enrollment.plan_id = changes["plan_id"]
    if "group_id" in changes:
        _check_group(session, program, changes["group_id"])
        enrollment.group_id = changes["group_id"]
    if changes.get("name"):
        partner.name = changes["name"].strip()
    if "country" in changes:
        partner.country = changes["country"].lower() if changes["country"] else None
    if "website" in changes:
        partner.website = _website(changes["website"])
    session.flush()
    return partner, enrollment
