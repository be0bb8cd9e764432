"""/manage/settings: program settings, tracking installation, API keys, team."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from partnerloop.account import service as account_service
from partnerloop.account.deps import ManagerAdmin, ManagerContext, ManagerPage, redirect
from partnerloop.account.rules import Role, assignable_roles
from partnerloop.kit.errors import AppError
from partnerloop.manage import service
from partnerloop.manage.views.common import page
from partnerloop.notify.email import keeps_unsent_emails
from partnerloop.plan import service as plan_service
from partnerloop.program import service as program_service
from partnerloop.web.forms import PostedForm, settings_of, text

router = APIRouter(include_in_schema=False)

ATTRIBUTION_MODELS = (
    ("last_click", "Last click"),
    ("first_click", "First click"),
    ("linear", "Linear (split evenly)"),
    ("time_decay", "Time decay"),
    ("position", "Position based (40/20/40)"),
)


def _settings_page(
    request: Request,
    ctx: ManagerContext,
    *,
    form: service.ProgramForm | None = None,
    error: str | None = None,
    section: str = "",
    new_key: str | None = None,
    invite: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    settings = settings_of(request)
    context: dict[str, Any] = {
        "form": form or service.program_form(ctx.program),
        "error": error,
        "section": section,
        "new_key": new_key,
        "plans": plan_service.plans_of(ctx.session, ctx.program.id),
        "attribution_models": ATTRIBUTION_MODELS,
        "api_keys": program_service.api_keys_of(ctx.session, ctx.program.id),
        "members": account_service.members_of_workspace(ctx.session, ctx.program.workspace_id),
        "invitations": account_service.open_invitations(ctx.session, ctx.program.workspace_id, "member"),
        "roles": [role.value for role in Role],
        "assignable": [role.value for role in assignable_roles(ctx.role)],
        "invite": invite or {"email": "", "role": "manager"},
        "base_url": settings.base_url.rstrip("/"),
        "emails_kept": keeps_unsent_emails(settings),
    }
    return page(request, ctx, "manage/settings.html", context, status_code)


@router.get("/manage/settings")
def settings_page(request: Request, ctx: ManagerPage) -> Response:
    return _settings_page(request, ctx)


@router.post("/manage/settings/program")
def save_program(request: Request, ctx: ManagerAdmin, form: PostedForm) -> Response:
    values = service.ProgramForm(
        name=text(form, "name"),
        currency=text(form, "currency"),
        allowed_domains=text(form, "allowed_domains"),
        link_params=text(form, "link_params"),
        cookie_days=text(form, "cookie_days"),
        hold_days=text(form, "hold_days"),
        min_payout=text(form, "min_payout"),
        attribution_model=text(form, "attribution_model"),
        default_plan_id=text(form, "default_plan_id"),
        fallback_url=text(form, "fallback_url"),
    )
    try:
        with ctx.session.begin_nested():
            service.save_program_settings(ctx.session, ctx.program, values)
    except AppError as error:
        ctx.session.refresh(ctx.program)
        return _settings_page(
            request, ctx, form=values, error=error.message, section="program", status_code=error.status_code
        )
    return redirect(request, ctx.url("/manage/settings"), notice="Program settings saved.")


@router.post("/manage/settings/api-keys")
def create_api_key(request: Request, ctx: ManagerAdmin, form: PostedForm) -> Response:
    try:
        secret = service.create_api_key(ctx.session, ctx.program, text(form, "name"))
    except AppError as error:
        return _settings_page(request, ctx, error=error.message, section="keys", status_code=error.status_code)
    # The secret is shown in this answer only (never in a redirect or a cookie); the database keeps its hash.
    return _settings_page(request, ctx, new_key=secret, section="keys", status_code=201)


@router.post("/manage/settings/api-keys/{key_id}/revoke")
def revoke_api_key(request: Request, ctx: ManagerAdmin, key_id: str) -> Response:
    try:
        key = service.revoke_api_key(ctx.session, ctx.program, key_id)
    except AppError as error:
        return _settings_page(request, ctx, error=error.message, section="keys", status_code=error.status_code)
    return redirect(
        request, ctx.url("/manage/settings") + "#keys", notice=f"Key “{key.name}” revoked: it no longer opens the API."
    )


# ------------------------------------------------------------------------------------------ team


@router.post("/manage/settings/team/invite")
def invite_member(request: Request, ctx: ManagerAdmin, form: PostedForm) -> Response:
    values = {"email": text(form, "email"), "role": text(form, "role")}
    try:
        with ctx.session.begin_nested():
            account_service.invite_member(
                ctx.session,
                settings_of(request),
                inviter=ctx.member,
                inviter_user=ctx.user,
                email=values["email"],
                role=values["role"],
            )
    except AppError as error:
        return _settings_page(
            request, ctx, error=error.message, section="team", invite=values, status_code=error.status_code
        )
    return redirect(
        request, ctx.url("/manage/settings") + "#team", notice=f"Invitation sent to {values['email'].lower()}."
    )


@router.post("/manage/settings/team/invitations/{invitation_id}/revoke")
def revoke_invitation(request: Request, ctx: ManagerAdmin, invitation_id: str) -> Response:
    try:
        account_service.revoke_invitation(
            ctx.session, workspace_id=ctx.program.workspace_id, invitation_id=invitation_id
        )
    except AppError as error:
        return _settings_page(request, ctx, error=error.message, section="team", status_code=error.status_code)
    return redirect(request, ctx.url("/manage/settings") + "#team", notice="Invitation withdrawn.")


@router.post("/manage/settings/team/{member_id}/role")
def change_role(request: Request, ctx: ManagerAdmin, member_id: str, form: PostedForm) -> Response:
    try:
        with ctx.session.begin_nested():
            account_service.change_role(ctx.session, actor=ctx.member, member_id=member_id, role=text(form, "role"))
    except AppError as error:
        return _settings_page(request, ctx, error=error.message, section="team", status_code=error.status_code)
    return redirect(request, ctx.url("/manage/settings") + "#team", notice="Role changed.")


@router.post("/manage/settings/team/{member_id}/remove")
def remove_member(request: Request, ctx: ManagerAdmin, member_id: str) -> Response:
    try:
        with ctx.session.begin_nested():
            account_service.remove_member(ctx.session, actor=ctx.member, member_id=member_id)
    except AppError as error:
        return _settings_page(request, ctx, error=error.message, section="team", status_code=error.status_code)
    if member_id == ctx.member.id:
        return redirect(request, "/account", notice="You left the team.")
    return redirect(request, ctx.url("/manage/settings") + "#team", notice="Removed from the team.")
