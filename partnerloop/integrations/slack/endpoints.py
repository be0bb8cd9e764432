"""GET/PUT/DELETE /api/v1/integrations/slack: the program's Slack connection (URL shown masked)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from partnerloop.deps import Api
from partnerloop.integrations.slack import service
from partnerloop.integrations.slack.schemas import SlackIn, SlackOut

router = APIRouter(prefix="/api/v1/integrations/slack", tags=["integrations"])


@router.get("", summary="Get the Slack connection")
def get_slack(api: Api) -> SlackOut:
    return service.slack_out(service.get_connection(api.session, api.program.id))


@router.put("", summary="Connect or change Slack")
def put_slack(body: SlackIn, api: Api) -> SlackOut:
    return service.slack_out(service.connect(api.session, api.program, body))


@router.delete("", summary="Disconnect Slack", status_code=204)
def delete_slack(api: Api) -> Response:
    service.disconnect(api.session, api.program)
    return Response(status_code=204)
