"""/manage/integrations/stripe: connect Stripe without curl. The signing secret and the secret key (write-only,
shown as set / not set like the API), test mode, the webhook URL to paste into Stripe, the latest events
received, and a connection test. Server-rendered, CSRF-checked, owners and admins change it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from partnerloop.account.deps import ManagerAdmin, ManagerContext, ManagerPage
from partnerloop.integrations.stripe import connection as stripe_connection
from partnerloop.integrations.stripe.rules import CONNECTION_TEST_TYPE, HANDLED_TYPES
from partnerloop.manage.views.common import act_or_show, page
from partnerloop.web.forms import PostedForm, settings_of, text

router = APIRouter(include_in_schema=False)
PATH = "/manage/integrations/stripe"


def _page(request: Request, ctx: ManagerContext, *, error: str | None = None, status_code: int = 200) -> Response:
    base_url = settings_of(request).base_url.rstrip("/")
    context: dict[str, Any] = {
        "stripe": stripe_connection.connection(ctx.session, ctx.program),
        "webhook_url": f"{base_url}/integrations/stripe/webhook/{ctx.program.id}",
        "handled_types": sorted(HANDLED_TYPES),
        "test_type": CONNECTION_TEST_TYPE,
        "error": error,
    }
    return page(request, ctx, "manage/stripe.html", context, status_code)


def _act(request: Request, ctx: ManagerContext, notice: str, act: Any) -> Response:
    return act_or_show(request, ctx, act, done=PATH, notice=notice, show=_page)


@router.get(PATH)
def stripe_page(request: Request, ctx: ManagerPage) -> Response:
    return _page(request, ctx)


@router.post(PATH)
def save_stripe(request: Request, ctx: ManagerAdmin, form: PostedForm) -> Response:
    def act() -> None:
        stripe_connection.save_connection(
            ctx.session,
            ctx.program,
            webhook_secret=text(form, "webhook_secret") or None,  # empty: keep the stored one
            secret_key=text(form, "secret_key") or None,
            test_mode=text(form, "test_mode") == "on",
        )

    return _act(request, ctx, "Stripe settings saved.", act)


@router.post(f"{PATH}/test")
def test_stripe(request: Request, ctx: ManagerAdmin, form: PostedForm) -> Response:
    notice = "Test event signed with the saved secret, verified and stored: it is the latest event below."
    return _act(request, ctx, notice, lambda: stripe_connection.send_connection_test(ctx.session, ctx.program))


@router.post(f"{PATH}/delete")
def disconnect_stripe(request: Request, ctx: ManagerAdmin, form: PostedForm) -> Response:
    notice = "Stripe disconnected: its webhooks are refused until a signing secret is saved again."
    return _act(request, ctx, notice, lambda: stripe_connection.disconnect(ctx.session, ctx.program))
