from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from partnerloop.db import transaction
from partnerloop.deps import Api, ApiContext, SaleSplit, api_context
from partnerloop.plan import service, simulation
from partnerloop.plan.schemas import PlanIn, PlanList, PlanOut, PlanPatch, SimulateIn, SimulationOut

router = APIRouter(prefix="/api/v1/plans", tags=["plans"])


@router.post("", summary="Create a plan", status_code=201)
def create_plan(body: PlanIn, api: Api) -> PlanOut:
    return service.plan_out(service.create_plan(api.session, api.program, body), api.program)


@router.get("", summary="List plans")
def list_plans(api: Api, cursor: str | None = None, limit: int = Query(default=50, ge=1, le=100)) -> PlanList:
    plans, next_cursor = service.list_plans(api.session, api.program, cursor=cursor, limit=limit)
    return PlanList(data=[service.plan_out(plan, api.program) for plan in plans], next_cursor=next_cursor)


@router.get("/{plan_id}", summary="Get a plan")
def get_plan(plan_id: str, api: Api) -> PlanOut:
    return service.plan_out(service.get_plan(api.session, api.program, plan_id), api.program)


@router.patch("/{plan_id}", summary="Change a plan")
def patch_plan(plan_id: str, body: PlanPatch, api: Api) -> PlanOut:
    return service.plan_out(service.update_plan(api.session, api.program, plan_id, body), api.program)


def _read_only_api(request: Request) -> Iterator[ApiContext]:
    """Like Api, in a read-only transaction: a simulation writes nothing and holds no write lock."""
    with transaction(request.app.state.engine, writes=False) as session:
        yield api_context(request, session)


ReadOnlyApi = Annotated[ApiContext, Depends(_read_only_api, scope="function")]


@router.post("/{plan_id}/simulate", summary="Simulate a plan on past sales")
def simulate_plan(plan_id: str, body: SimulateIn, api: ReadOnlyApi, shares: SaleSplit) -> SimulationOut:
    """Replay the window's leads and sales under this plan, beside the commissions the plans in force
    recorded: totals, revenue, ROI, effective rate, and per partner earnings now vs proposed,
    customers, their average lifetime value and commissions as a share of it. Writes nothing."""
    plan = service.get_plan(api.session, api.program, plan_id)
    return simulation.simulate(api.session, api.program, plan, body, shares)
