from __future__ import annotations

from fastapi import APIRouter, Query

from partnerloop.deps import Api, BanSettlement, PartnerPerks
from partnerloop.partner import service
from partnerloop.partner.schemas import BanIn, PartnerIn, PartnerList, PartnerOut, PartnerPatch

router = APIRouter(prefix="/api/v1/partners", tags=["partners"])


@router.post("", summary="Create a partner", status_code=201)
def create_partner(body: PartnerIn, api: Api) -> PartnerOut:
    return service.partner_out(*service.enroll_partner(api.session, api.program, body))


@router.get("", summary="List partners")
def list_partners(
    api: Api,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=100),
) -> PartnerList:
    rows, next_cursor = service.list_partners(api.session, api.program, status=status, cursor=cursor, limit=limit)
    return PartnerList(data=[service.partner_out(*row) for row in rows], next_cursor=next_cursor)


@router.get("/{partner_id}", summary="Get a partner")
def get_partner(partner_id: str, api: Api, perks_of: PartnerPerks) -> PartnerOut:
    partner, enrollment = service.get_partner(api.session, api.program, partner_id)
    perks = perks_of(api.session, api.program.id, enrollment.group_id)
    return service.partner_out(partner, enrollment).model_copy(update={"perks": perks})


@router.patch("/{partner_id}", summary="Change a partner")
def patch_partner(partner_id: str, body: PartnerPatch, api: Api) -> PartnerOut:
    return service.partner_out(*service.update_partner(api.session, api.program, partner_id, body))


@router.post("/{partner_id}/approve", summary="Approve a partner")
def approve_partner(partner_id: str, api: Api) -> PartnerOut:
    return service.partner_out(*service.change_status(api.session, api.program, partner_id, "approve"))


@router.post("/{partner_id}/reject", summary="Reject a partner")
def reject_partner(partner_id: str, api: Api) -> PartnerOut:
    return service.partner_out(*service.change_status(api.session, api.program, partner_id, "reject"))


@router.post("/{partner_id}/ban", summary="Ban a partner")
def ban_partner(partner_id: str, api: Api, settle: BanSettlement, body: BanIn | None = None) -> PartnerOut:
    """Ban the partner. Their pending and on-hold commissions are rejected (`{"commissions": "hold"}`:
    held instead), approved ones held, paid ones untouched; no body is a ban that rejects."""
    choice = (body or BanIn()).commissions
    return service.partner_out(
        *service.ban_partner(api.session, api.program, partner_id, choice, settle=settle, actor=api.actor)
    )


@router.post("/{partner_id}/unban", summary="Unban a partner")
def unban_partner(partner_id: str, api: Api) -> PartnerOut:
    """A banned partner back to approved. Commissions the ban held stay held for the manager to decide;
    rejected ones stay rejected. A partner who is not banned: 409 StatusChangeNotAllowed."""
    return service.partner_out(*service.change_status(api.session, api.program, partner_id, "unban"))
