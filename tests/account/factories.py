"""Plain factories for account tests: team members with a role, partner users."""

from __future__ import annotations

from sqlalchemy import Engine

from partnerloop.account.service import create_partner_user, create_user
from partnerloop.db import transaction
from partnerloop.models import Member, Program
from partnerloop.partner.schemas import PartnerIn
from partnerloop.partner.service import enroll_partner

PASSWORD = "correct horse battery"


def add_member(engine: Engine, workspace_id: str, email: str, role: str, password: str = PASSWORD) -> str:
    """A user on the workspace's team with `role`; returns the user id."""
    with transaction(engine) as session:
        user = create_user(session, email=email, password=password, name=email.split("@")[0], verified=True)
        session.add(Member(workspace_id=workspace_id, user_id=user.id, role=role))
        return user.id


def add_partner_user(
    engine: Engine,
    program_id: str,
    email: str,
    *,
    name: str = "Pat Partner",
    status: str = "approved",
    password: str = PASSWORD,
) -> tuple[str, str]:
    """A partner enrolled in the program with a login; returns (user id, partner id)."""
    with transaction(engine) as session:
        program = session.get(Program, program_id)
        assert program is not None
        partner, _enrollment = enroll_partner(session, program, PartnerIn(email=email, name=name, status="pending"))
        if status != "pending":
            _enrollment.status = status
        user = create_partner_user(session, email=email, password=password, name=name, verified=True)
        return user.id, partner.id
