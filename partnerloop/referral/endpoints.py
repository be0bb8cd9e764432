"""The referral API: advocates and rewards (program settings are PATCH /api/v1/program)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from partnerloop.deps import Api
from partnerloop.referral import service
from partnerloop.referral.schemas import AdvocateIn, AdvocateOut, MarkIssuedIn, RewardOut

router = APIRouter(prefix="/api/v1", tags=["referrals"])


def _page(data: list[object], next_cursor: str | None) -> dict[str, object]:
    return {"data": data, "next_cursor": next_cursor}


@router.post("/advocates", summary="Create an advocate", status_code=201, response_model=AdvocateOut)
def create_advocate(body: AdvocateIn, api: Api) -> JSONResponse:
    """201 with a new advocate; 200 with the same advocate when the customer_external_id is known."""
    advocate, created = service.create_advocate(api.session, api.program, body)
    out = service.advocates_out(api.session, api.settings, [advocate])[0]
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.get("/advocates", summary="List advocates")
def list_advocates(
    api: Api,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: str | None = None,
    q: str | None = None,
) -> dict[str, object]:
    rows, next_cursor = service.list_advocates(api.session, api.program, cursor, limit, q)
    return _page(list(service.advocates_out(api.session, api.settings, rows)), next_cursor)


@router.get("/advocates/{advocate_id}", summary="Get an advocate")
def get_advocate(advocate_id: str, api: Api) -> AdvocateOut:
    advocate = service.get_advocate(api.session, api.program, advocate_id)
    return service.advocates_out(api.session, api.settings, [advocate])[0]


@router.get("/rewards", summary="List referral rewards")
def list_rewards(
    api: Api,
    advocate_id: str | None = None,
    status: str | None = None,
    side: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: str | None = None,
) -> dict[str, object]:
    rows, next_cursor = service.list_rewards(
        api.session, api.program, advocate_id=advocate_id, status=status, side=side, cursor=cursor, limit=limit
    )
    return _page([service.reward_out(reward) for reward in rows], next_cursor)


@router.get("/rewards/{reward_id}", summary="Get a referral reward")
def get_reward(reward_id: str, api: Api) -> RewardOut:
    return service.reward_out(service.get_reward(api.session, api.program, reward_id))


@router.post("/rewards/{reward_id}/mark-issued", summary="Mark a referral reward issued")
def mark_issued(reward_id: str, body: MarkIssuedIn, api: Api) -> RewardOut:
    return service.reward_out(service.mark_issued(api.session, api.program, reward_id, body.reference))


@router.post("/rewards/{reward_id}/retry", summary="Retry a referral reward")
def retry_reward(reward_id: str, api: Api) -> RewardOut:
    return service.reward_out(service.retry_reward(api.session, api.program, reward_id))
