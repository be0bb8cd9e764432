"""GET/PUT/DELETE /api/v1/integrations/hubspot: the program's HubSpot connection (token shown masked)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from partnerloop.deps import Api
from partnerloop.integrations.hubspot import service
from partnerloop.integrations.hubspot.schemas import HubSpotIn, HubSpotOut

router = APIRouter(prefix="/api/v1/integrations/hubspot", tags=["integrations"])


@router.get("", summary="Get the HubSpot connection")
def get_hubspot(api: Api) -> HubSpotOut:
    return service.hubspot_out(service.get_connection(api.session, api.program.id))


@router.put("", summary="Connect or change HubSpot")
def put_hubspot(body: HubSpotIn, api: Api) -> HubSpotOut:
    return service.hubspot_out(service.connect(api.session, api.program, body))


@router.delete("", summary="Disconnect HubSpot", status_code=204)
def delete_hubspot(api: Api) -> Response:
    service.disconnect(api.session, api.program)
    return Response(status_code=204)
