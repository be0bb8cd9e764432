"""/manage/integrations: the program's Slack channel and HubSpot CRM (connect, change, disconnect), with
the last post or sync and the last error of each. Server-rendered, CSRF-checked; the secrets (Slack's
URL, HubSpot's token) are shown masked and never put back into a form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from partnerloop.account.deps import ManagerAdmin, ManagerContext, ManagerPage
from partnerloop.integrations.hubspot import service as hubspot
from partnerloop.integrations.hubspot.schemas import HubSpotIn
from partnerloop.integrations.slack import service as slack
from partnerloop.integrations.slack.rules import CHOICES, LABELS
from partnerloop.integrations.slack.schemas import SlackIn
from partnerloop.manage.views.common import act_or_show, page
from partnerloop.web.forms import PostedForm, text, texts

router = APIRouter(include_in_schema=False)
PATH = "/manage/integrations"


def _page(request: Request, ctx: ManagerContext, *, error: str | None = None, status_code: int = 200) -> Response:
    context: dict[str, Any] = {
        "slack": slack.slack_out(slack.get_connection(ctx.session, ctx.program.id)),
        "hubspot": hubspot.hubspot_out(hubspot.get_connection(ctx.session, ctx.program.id)),
        "choices": [(choice, LABELS[choice]) for choice in CHOICES],
        "error": error,
    }
    return page(request, ctx, "manage/integrations.html", context, status_code)


def _act(request: Request, ctx: ManagerContext, notice: str, act: Any) -> Response:
    return act_or_show(request, ctx, act, done=PATH, notice=notice, show=_page)


@router.get(PATH)
def integrations_page(request: Request, ctx: ManagerPage) -> Response:
    return _page(request, ctx)


@router.post(f"{PATH}/slack")
def connect_slack(request: Request, ctx: ManagerAdmin, form: PostedForm) -> Response:
    def act() -> None:
        values = {"webhook_url": text(form, "webhook_url") or None, "events": texts(form, "events"),
                  "sale_min_amount": text(form, "sale_min_amount") or "0"}  # fmt: skip
        body = SlackIn.model_validate(values)  # "500" from the form is read as 500; "lots" is a 422
        slack.connect(ctx.session, ctx.program, body)

    return _act(request, ctx, "Slack saved.", act)


@router.post(f"{PATH}/slack/delete")
def disconnect_slack(request: Request, ctx: ManagerAdmin, form: PostedForm) -> Response:
    return _act(request, ctx, "Slack disconnected.", lambda: slack.disconnect(ctx.session, ctx.program))


@router.post(f"{PATH}/hubspot")
def connect_hubspot(request: Request, ctx: ManagerAdmin, form: PostedForm) -> Response:
    def act() -> None:
        hubspot.connect(ctx.session, ctx.program, HubSpotIn(access_token=text(form, "access_token") or None))

    return _act(request, ctx, "HubSpot saved.", act)


@router.post(f"{PATH}/hubspot/delete")
def disconnect_hubspot(request: Request, ctx: ManagerAdmin, form: PostedForm) -> Response:
    return _act(request, ctx, "HubSpot disconnected.", lambda: hubspot.disconnect(ctx.session, ctx.program))
