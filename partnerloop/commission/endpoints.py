from __future__ import annotations

from fastapi import APIRouter, Query

from partnerloop.commission import service
from partnerloop.commission.schemas import CommissionList, CommissionOut
from partnerloop.deps import Api

router = APIRouter(prefix="/api/v1/commissions", tags=["commissions"])


@router.get("")
def list_commissions(
    api: Api,
    partner_id: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=100),
) -> CommissionList:
    rows, next_cursor = service.list_commissions(
        api.session, api.program, partner_id=partner_id, status=status, kind=kind, cursor=cursor, limit=limit
    )
    return CommissionList(data=[service.commission_out(row) for row in rows], next_cursor=next_cursor)


@router.get("/{commission_id}")
def get_commission(commission_id: str, api: Api) -> CommissionOut:
    return service.commission_out(service.get_commission(api.session, api.program, commission_id))


@router.post("/{commission_id}/approve")
def approve_commission(commission_id: str, api: Api) -> CommissionOut:
    return service.commission_out(service.change_status(api.session, api.program, commission_id, "approve"))


@router.post("/{commission_id}/hold")
def hold_commission(commission_id: str, api: Api) -> CommissionOut:
    return service.commission_out(service.change_status(api.session, api.program, commission_id, "hold"))


@router.post("/{commission_id}/reject")
def reject_commission(commission_id: str, api: Api) -> CommissionOut:
    return service.commission_out(service.change_status(api.session, api.program, commission_id, "reject"))
