"""The manager's side of the partner portal: the resource library, the welcome kit, the application form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from partnerloop.account.deps import ManagerAction, ManagerContext, ManagerPage, redirect, render
from partnerloop.kit.errors import AppError
from partnerloop.partner_portal import groups
from partnerloop.partner_portal.rules import QuestionKind, ResourceKind, image_previews, text_color_on
from partnerloop.partner_portal.service import application as application_service
from partnerloop.partner_portal.service import library
from partnerloop.partner_portal.service.portal import partner_plan_row
from partnerloop.plan.terms import ProgramTerms, plan_in_words, program_in_words
from partnerloop.web.forms import PostedFields, PostedForm, settings_of
from partnerloop.web.pages import PageNotFound

router = APIRouter(include_in_schema=False)

KINDS = [(kind.value, kind.label) for kind in ResourceKind]
QUESTION_KINDS = [
    (QuestionKind.TEXT.value, "Short text"),
    (QuestionKind.LONG_TEXT.value, "Long text"),
    (QuestionKind.URL.value, "Web address"),
    (QuestionKind.CHOICE.value, "Choice from a list"),
    (QuestionKind.CHECKBOX.value, "Tick box"),
]


def _page(
    request: Request, ctx: ManagerContext, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return render(request, template, {"ctx": ctx, **context}, status_code=status_code)


# ------------------------------------------------------------------------------------ resources


def _resource_in(form: Any) -> library.ResourceIn:
    return library.ResourceIn(
        kind=str(form.get("kind") or ""),
        title=str(form.get("title") or ""),
        description=str(form.get("description") or ""),
        url=str(form.get("url") or ""),
        body=str(form.get("body") or ""),
        group_ids=tuple(str(value) for value in form.getlist("group_ids")),
    )


def _resources_page(
    request: Request,
    ctx: ManagerContext,
    *,
    values: library.ResourceIn | None,
    error: str | None,
    status_code: int = 200,
) -> Response:
    resources = library.resources(ctx.session, ctx.program.id)
    previews = image_previews([(item.id, item.kind, item.url) for item in resources])
    context = {
        "resources": resources,
        "previews": previews,
        "kinds": KINDS,
        "kind_labels": dict(KINDS),
        "groups": groups.group_names(ctx.session, ctx.program.id),
        "values": values or library.ResourceIn(kind="guide", title=""),
        "error": error,
    }
    return render(request, "manage/portal_resources.html", {"ctx": ctx, **context}, status_code,
                  image_origins=previews.origins)  # fmt: skip


@router.get("/manage/resources")
def resources(request: Request, ctx: ManagerPage) -> Response:
    return _resources_page(request, ctx, values=None, error=None)


@router.post("/manage/resources")
def add_resource(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    body = _resource_in(form)
    try:
        library.add_resource(ctx.session, ctx.program, body)
    except AppError as error:
        return _resources_page(request, ctx, values=body, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url("/manage/resources"), notice=f"“{body.title.strip()}” is in the library.")


@router.get("/manage/resources/{resource_id}")
def edit_resource(request: Request, ctx: ManagerPage, resource_id: str) -> Response:
    resource = library.find_resource(ctx.session, ctx.program.id, resource_id)
    if resource is None:
        raise PageNotFound("No such resource in this program.")
    values = library.ResourceIn(
        resource.kind, resource.title, resource.description, resource.url or "", resource.body or "",
        tuple(resource.group_ids),
    )  # fmt: skip
    return _edit_page(request, ctx, resource_id, values, None)


def _edit_page(
    request: Request,
    ctx: ManagerContext,
    resource_id: str,
    values: library.ResourceIn,
    error: str | None,
    status_code: int = 200,
) -> Response:
    context = {
        "resource_id": resource_id,
        "kinds": KINDS,
        "groups": groups.group_names(ctx.session, ctx.program.id),
        "values": values,
        "error": error,
    }
    return _page(request, ctx, "manage/portal_resource.html", context, status_code)


@router.post("/manage/resources/{resource_id}")
def update_resource(request: Request, ctx: ManagerAction, form: PostedForm, resource_id: str) -> Response:
    body = _resource_in(form)
    try:
        library.update_resource(ctx.session, ctx.program, resource_id, body)
    except library.ResourceNotFound as error:
        raise PageNotFound(error.message) from None
    except AppError as error:
        return _edit_page(request, ctx, resource_id, body, error.message, error.status_code)
    return redirect(request, ctx.url("/manage/resources"), notice="The resource is saved.")


@router.post("/manage/resources/{resource_id}/delete")
def delete_resource(request: Request, ctx: ManagerAction, resource_id: str) -> Response:
    try:
        library.delete_resource(ctx.session, ctx.program, resource_id)
    except library.ResourceNotFound as error:
        raise PageNotFound(error.message) from None
    return redirect(request, ctx.url("/manage/resources"), notice="The resource is deleted.")


# ----------------------------------------------------------------------------------- onboarding


def _onboarding_page(
    request: Request, ctx: ManagerContext, kit: library.KitIn, error: str | None, status_code: int = 200
) -> Response:
    program = ctx.program
    plan = partner_plan_row(ctx.session, program, None)  # the program's default plan: what a new partner gets
    plan_lines = plan_in_words(
        plan.rules, program.currency, bonuses=plan.bonuses or [],
        group_names=groups.group_names(ctx.session, program.id),
    ) if plan else []  # fmt: skip
    program_lines = program_in_words(
        ProgramTerms(program.currency, program.cookie_days, program.attribution_model, program.hold_days,
                     program.min_payout_amount)
    )  # fmt: skip
    context = {"kit": kit, "plan": plan, "plan_lines": plan_lines, "program_lines": program_lines, "error": error}
    return _page(request, ctx, "manage/portal_onboarding.html", context, status_code)


@router.get("/manage/onboarding")
def onboarding(request: Request, ctx: ManagerPage) -> Response:
    return _onboarding_page(request, ctx, library.welcome_kit(ctx.session, ctx.program.id), None)


@router.post("/manage/onboarding")
def save_onboarding(request: Request, ctx: ManagerAction, fields: PostedFields) -> Response:
    kit = library.KitIn(
        fields.get("welcome_message", ""), fields.get("guidelines", ""), fields.get("how_to_promote", "")
    )
    try:
        library.save_welcome_kit(ctx.session, ctx.program, kit)
    except AppError as error:
        return _onboarding_page(request, ctx, kit, error.message, error.status_code)
    return redirect(request, ctx.url("/manage/onboarding"), notice="The welcome kit is saved.")


# ---------------------------------------------------------------------------------- application


def _application_page(
    request: Request,
    ctx: ManagerContext,
    *,
    form: application_service.FormSettings | None = None,
    question: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    settings = form or application_service.form_settings(ctx.session, ctx.program.id)
    context = {
        "form": settings,
        "brand_text": text_color_on(settings.brand_color) if len(settings.brand_color) == 7 else "#ffffff",
        "questions": application_service.questions(ctx.session, ctx.program.id),
        "question_kinds": QUESTION_KINDS,
        "question_kind_labels": dict(QUESTION_KINDS),
        "question": question or {},
        "public_url": f"{settings_of(request).base_url.rstrip('/')}/apply/{ctx.program.id}",
        "pending": len(application_service.applications(ctx.session, ctx.program.id, "pending")),
        "error": error,
    }
    return render(request, "manage/portal_application.html", {"ctx": ctx, **context}, status_code,
                  image_origins=settings.image_origins)  # fmt: skip


@router.get("/manage/application")
def application(request: Request, ctx: ManagerPage) -> Response:
    return _application_page(request, ctx)


@router.post("/manage/application")
def save_application(request: Request, ctx: ManagerAction, fields: PostedFields) -> Response:
    form = application_service.FormSettings(
        is_open=bool(fields.get("is_open")),
        auto_approve=fields.get("auto_approve") == "yes",
        headline=fields.get("headline", ""),
        intro=fields.get("intro", ""),
        terms=fields.get("terms", ""),
        brand_color=fields.get("brand_color", "").strip(),
        logo_url=fields.get("logo_url", "").strip(),
    )
    try:
        application_service.save_form(ctx.session, ctx.program, form)
    except AppError as error:
        return _application_page(request, ctx, form=form, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url("/manage/application"), notice="The application form is saved.")


@router.post("/manage/application/questions")
def add_question(request: Request, ctx: ManagerAction, fields: PostedFields) -> Response:
    question = {key: fields.get(key, "") for key in ("label", "kind", "required", "options")}
    try:
        application_service.add_question(
            ctx.session, ctx.program, label=question["label"], kind=question["kind"],
            required=bool(question["required"]), options_text=question["options"],
        )  # fmt: skip
    except AppError as error:
        return _application_page(request, ctx, question=question, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url("/manage/application") + "#questions", notice="The question is on the form.")


@router.post("/manage/application/questions/{question_id}/delete")
def delete_question(request: Request, ctx: ManagerAction, question_id: str) -> Response:
    try:
        application_service.remove_question(ctx.session, ctx.program, question_id)
    except AppError as error:
        raise PageNotFound(error.message) from None
    return redirect(request, ctx.url("/manage/application") + "#questions", notice="The question is removed.")


@router.post("/manage/application/questions/{question_id}/move")
def move_question(request: Request, ctx: ManagerAction, fields: PostedFields, question_id: str) -> Response:
    try:
        application_service.move_question(ctx.session, ctx.program, question_id, fields.get("direction", "down"))
    except AppError as error:
        raise PageNotFound(error.message) from None
    return redirect(request, ctx.url("/manage/application") + "#questions")
