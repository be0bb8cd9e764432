"""POST/GET /api/v1/goals[/{id}]: SMART goals with their progress, recomputed on every read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from partnerloop.deps import Api
from partnerloop.goal import service
from partnerloop.goal.schemas import GoalIn
from partnerloop.kit.time import utc_now

router = APIRouter(prefix="/api/v1/goals", tags=["goals"])


@router.post("", summary="Create a goal", status_code=201)
def create_goal(api: Api, body: GoalIn) -> dict[str, Any]:
    """A goal for the program, a group or a partner: an absolute target or {"relative_pct": n}."""
    now = utc_now()
    goal = service.create_goal(api.session, api.program, body, now, actor=api.actor)
    return service.goal_out(api.session, api.program, goal, now)


@router.get("", summary="List goals")
def list_goals(api: Api, partner_id: str | None = None, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    now = utc_now()
    goals, next_cursor = service.list_goals(api.session, api.program, partner_id=partner_id, cursor=cursor, limit=limit)
    return {
        "data": [service.goal_out(api.session, api.program, goal, now) for goal in goals],
        "next_cursor": next_cursor,
    }


@router.get("/{goal_id}", summary="Get a goal with its progress")
def get_goal(api: Api, goal_id: str) -> dict[str, Any]:
    """The goal with its progress recomputed now."""
    now = utc_now()
    return service.goal_out(api.session, api.program, service.get_goal(api.session, api.program, goal_id), now)
