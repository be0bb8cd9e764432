"""Partner groups (Bronze / Silver / Gold): a name and the plan their partners earn by.

A partner's own plan beats the group's, which beats the program's default.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from partnerloop.group import repository
from partnerloop.group.schemas import GroupIn, GroupOut, GroupPatch
from partnerloop.kit.errors import Conflict, NotFound
from partnerloop.models import Group, Plan, Program


class GroupNotFound(NotFound):
    pass


class GroupNameTaken(Conflict):
    pass


class PlanNotFound(NotFound):
    pass


def group_out(group: Group, partners: int = 0) -> GroupOut:
    return GroupOut(id=group.id, name=group.name, plan_id=group.plan_id, partners=partners, created_at=group.created_at)


def groups_out(session: Session, groups: list[Group]) -> list[GroupOut]:
    counts = repository.partner_counts(session, [group.id for group in groups])
    return [group_out(group, counts.get(group.id, 0)) for group in groups]


def _check_plan(session: Session, program: Program, plan_id: str | None) -> None:
    if plan_id is None:
        return
    plan = session.get(Plan, plan_id)
    if plan is None or plan.program_id != program.id:
        raise PlanNotFound(f"No plan {plan_id} in this program.")


def _check_name(session: Session, program: Program, name: str, group_id: str | None = None) -> None:
    existing = repository.group_by_name(session, program.id, name)
    if existing is not None and existing.id != group_id:
        raise GroupNameTaken(f"The group name '{name}' is taken (group {existing.id}).")


def create_group(session: Session, program: Program, body: GroupIn) -> Group:
    _check_plan(session, program, body.plan_id)
    _check_name(session, program, body.name)
    group = Group(program_id=program.id, name=body.name, plan_id=body.plan_id)
    session.add(group)
    session.flush()
    return group


def get_group(session: Session, program: Program, group_id: str) -> Group:
    group = repository.get_group(session, program.id, group_id)
    if group is None:
        raise GroupNotFound(f"No group {group_id} in this program.")
    return group


def update_group(session: Session, program: Program, group_id: str, patch: GroupPatch) -> Group:
    group = get_group(session, program, group_id)
    changes = patch.model_dump(exclude_unset=True)
    if "plan_id" in changes:
        _check_plan(session, program, changes["plan_id"])
    if changes.get("name"):
        _check_name(session, program, changes["name"], group.id)
        group.name = changes["name"]
    if "plan_id" in changes:
        group.plan_id = changes["plan_id"]
    session.flush()
    return group


def list_groups(
    session: Session, program: Program, *, cursor: str | None, limit: int
) -> tuple[list[Group], str | None]:
    return repository.list_groups(session, program.id, cursor, limit)


def groups_by_name(session: Session, program_id: str) -> list[Group]:
    """Every group of the program, by name."""
    return repository.groups_by_name(session, program_id)


def find_group(session: Session, program_id: str, group_id: str) -> Group | None:
    """The program's group, or None (another program's group is None too)."""
    return repository.get_group(session, program_id, group_id)
