from __future__ import annotations

from fastapi import APIRouter, Query

from partnerloop.deps import Api
from partnerloop.group import service
from partnerloop.group.repository import partner_counts
from partnerloop.group.schemas import GroupIn, GroupList, GroupOut, GroupPatch

router = APIRouter(prefix="/api/v1/groups", tags=["groups"])


@router.post("", status_code=201)
def create_group(body: GroupIn, api: Api) -> GroupOut:
    return service.group_out(service.create_group(api.session, api.program, body))


@router.get("")
def list_groups(api: Api, cursor: str | None = None, limit: int = Query(default=50, ge=1, le=100)) -> GroupList:
    groups, next_cursor = service.list_groups(api.session, api.program, cursor=cursor, limit=limit)
    return GroupList(data=service.groups_out(api.session, groups), next_cursor=next_cursor)


@router.get("/{group_id}")
def get_group(group_id: str, api: Api) -> GroupOut:
    group = service.get_group(api.session, api.program, group_id)
    return service.group_out(group, partner_counts(api.session, [group.id]).get(group.id, 0))


@router.patch("/{group_id}")
def patch_group(group_id: str, body: GroupPatch, api: Api) -> GroupOut:
    group = service.update_group(api.session, api.program, group_id, body)
    return service.group_out(group, partner_counts(api.session, [group.id]).get(group.id, 0))
