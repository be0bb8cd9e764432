"""/manage/programs/new: the "New program" form (an affiliate or a customer referral program) in the
manager's workspace; the program's first API key is shown once, on the answer page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from partnerloop.account.deps import ManagerAction, ManagerContext, ManagerPage
from partnerloop.kit.errors import AppError
from partnerloop.manage.views.common import page
from partnerloop.plan.service import create_starter_plan
from partnerloop.program.schemas import ProgramPatch
from partnerloop.program.service import PROGRAM_KINDS, create_program, update_program
from partnerloop.web.forms import PostedForm, text

router = APIRouter(include_in_schema=False)


class NotAllowedToCreate(AppError):
    status_code = 403


def _form(request: Request, ctx: ManagerContext, values: dict[str, str], error: str | None, status: int) -> Response:
    context = {"values": values, "kinds": PROGRAM_KINDS, "error": error, "created": None}
    return page(request, ctx, "manage/program_new.html", context, status)


@router.get("/manage/programs/new")
def new_program_form(request: Request, ctx: ManagerPage, kind: str = "affiliate") -> Response:
    values = {"name": "", "kind": kind if kind in PROGRAM_KINDS else "affiliate", "domain": "", "currency": "usd"}
    return _form(request, ctx, values, None, 200)


@router.post("/manage/programs")
def create_program_from_form(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    """A program in the manager's workspace (owners and admins only); bad input is a 422 naming the field."""
    values = {key: text(form, key) for key in ("name", "kind", "domain", "currency")}
    try:
        if not ctx.can_administer:
            raise NotAllowedToCreate("Only the workspace's owners and admins can create programs.")
        if values["kind"] not in PROGRAM_KINDS:
            raise AppError(f"kind: choose {' or '.join(PROGRAM_KINDS)}.", 422)
        if not values["name"]:
            raise AppError("name: the program needs a name.", 422)
        if not values["domain"]:
            raise AppError("domain: give the website partners' and advocates' links go to, e.g. example.com.", 422)
        with ctx.session.begin_nested():  # a refusal leaves nothing behind
            created = create_program(
                ctx.session, name=values["name"], domains=[values["domain"]], currency=values["currency"] or "usd",
                owner_email=ctx.user.email, owner_password=None, kind=values["kind"],
                workspace_id=ctx.member.workspace_id,
            )  # fmt: skip
            if created.program.kind == "affiliate":  # a sensible plan to edit, rather than none
                starter = create_starter_plan(ctx.session, created.program)
                update_program(ctx.session, created.program, ProgramPatch(default_plan_id=starter.id))
    except AppError as error:
        return _form(request, ctx, values, error.message, error.status_code)
    program = created.program
    start = "/manage/referrals" if program.kind == "referral" else "/manage/plans"
    context = {"values": values, "kinds": PROGRAM_KINDS, "error": None, "created": created, "start": start}
    return page(request, ctx, "manage/program_new.html", context, 201)
