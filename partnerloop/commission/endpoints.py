from __future__ import annotations

from fastapi import APIRouter, Query

from partnerloop.commission import service
from partnerloop.commission.schemas import ClawbackIn, CommissionList, CommissionOut, ManualCommissionIn
from partnerloop.deps import Api

router = APIRouter(prefix="/api/v1/commissions", tags=["commissions"])


@router.get("", summary="List commissions")
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


@router.post("", summary="Create a manual commission", status_code=201)
def create_manual_commission(body: ManualCommissionIn, api: Api) -> CommissionOut:
    """A commission made by a person, with a reason; a negative amount is a clawback. Approved unless
    `status` is "pending"; recorded with the API key that made it."""
    return service.commission_out(service.create_manual_commission(api.session, api.program, body, actor=api.actor))


@router.get("/{commission_id}", summary="Get a commission")
def get_commission(commission_id: str, api: Api) -> CommissionOut:
    return service.commission_out(service.get_commission(api.session, api.program, commission_id))


@router.post("/{commission_id}/approve", summary="Approve a commission")
def approve_commission(commission_id: str, api: Api) -> CommissionOut:
    return service.commission_out(
        service.change_status(api.session, api.program, commission_id, "approve", actor=api.actor)
    )


@router.post("/{commission_id}/hold", summary="Put a commission on hold")
def hold_commission(commission_id: str, api: Api) -> CommissionOut:
    return service.commission_out(
        service.change_status(api.session, api.program, commission_id, "hold", actor=api.actor)
    )


@router.post("/{commission_id}/reject", summary="Reject a commission")
def reject_commission(commission_id: str, api: Api) -> CommissionOut:
    return service.commission_out(
        service.change_status(api.session, api.program, commission_id, "reject", actor=api.actor)
    )


@router.post("/{commission_id}/clawback", summary="Claw back a commission", status_code=201)
def claw_back(commission_id: str, body: ClawbackIn, api: Api) -> CommissionOut:
    """Take back (part of) a commission, with a reason: answers the clawback (negative earnings)."""
    return service.commission_out(service.claw_back(api.session, api.program, commission_id, body, actor=api.actor))
