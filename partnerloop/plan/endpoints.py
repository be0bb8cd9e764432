from __future__ import annotations

from fastapi import APIRouter, Query

from partnerloop.deps import Api
from partnerloop.plan import service
from partnerloop.plan.schemas import PlanIn, PlanList, PlanOut, PlanPatch

router = APIRouter(prefix="/api/v1/plans", tags=["plans"])


@router.post("", status_code=201)
def create_plan(body: PlanIn, api: Api) -> PlanOut:
    return service.plan_out(service.create_plan(api.session, api.program, body), api.program)


@router.get("")
def list_plans(api: Api, cursor: str | None = None, limit: int = Query(default=50, ge=1, le=100)) -> PlanList:
    plans, next_cursor = service.list_plans(api.session, api.program, cursor=cursor, limit=limit)
    return PlanList(data=[service.plan_out(plan, api.program) for plan in plans], next_cursor=next_cursor)


@router.get("/{plan_id}")
def get_plan(plan_id: str, api: Api) -> PlanOut:
    return service.plan_out(service.get_plan(api.session, api.program, plan_id), api.program)


@router.patch("/{plan_id}")
def patch_plan(plan_id: str, body: PlanPatch, api: Api) -> PlanOut:
    return service.plan_out(service.update_plan(api.session, api.program, plan_id, body), api.program)
