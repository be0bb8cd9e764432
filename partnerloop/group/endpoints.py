from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from partnerloop.deps import Api
from partnerloop.engagement.service import tiers
from partnerloop.group import service
from partnerloop.group.repository import partner_counts
from partnerloop.group.schemas import GroupIn, GroupList, GroupOut, GroupPatch
from partnerloop.models import Group

router = APIRouter(prefix="/api/v1/groups", tags=["groups"])


def _tier_changes(body: BaseModel) -> dict[str, Any]:
    """The tier fields (rank, promotion, demotion, perks) the request set; engagement owns and checks them."""
    return {key: value for key, value in body.model_dump(exclude_unset=True).items() if key in tiers.TIER_FIELDS}


def _out(session: Session, group: Group) -> GroupOut:
    out = service.group_out(group, partner_counts(session, [group.id]).get(group.id, 0))
    return out.model_copy(update=tiers.tier_fields(session, [group.id])[group.id])


@router.post("", summary="Create a group", status_code=201)
def create_group(body: GroupIn, api: Api) -> GroupOut:
    group = service.create_group(api.session, api.program, body)
    tiers.configure(api.session, api.program, group.id, group.name, _tier_changes(body))  # a 422 rolls all back
    return _out(api.session, group)


@router.get("", summary="List groups")
def list_groups(api: Api, cursor: str | None = None, limit: int = Query(default=50, ge=1, le=100)) -> GroupList:
    groups, next_cursor = service.list_groups(api.session, api.program, cursor=cursor, limit=limit)
    fields = tiers.tier_fields(api.session, [group.id for group in groups])
    data = [out.model_copy(update=fields[out.id]) for out in service.groups_out(api.session, groups)]
    return GroupList(data=data, next_cursor=next_cursor)


@router.get("/{group_id}", summary="Get a group")
def get_group(group_id: str, api: Api) -> GroupOut:
    return _out(api.session, service.get_group(api.session, api.program, group_id))


@router.patch("/{group_id}", summary="Change a group")
def patch_group(group_id: str, body: GroupPatch, api: Api) -> GroupOut:
    group = service.update_group(api.session, api.program, group_id, body)
    tiers.configure(api.session, api.program, group.id, group.name, _tier_changes(body))
    return _out(api.session, group)
