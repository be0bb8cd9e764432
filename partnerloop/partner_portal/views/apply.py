"""The public, branded application page of a program: /apply/{program_id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from partnerloop.account.deps import CsrfChecked, CurrentUser, redirect, render
from partnerloop.account.rules import MIN_PASSWORD_LENGTH
from partnerloop.deps import DbSession
from partnerloop.kit.errors import AppError
from partnerloop.models import Program
from partnerloop.partner_portal import repository
from partnerloop.partner_portal.rules import ApplicationStatus, text_color_on
from partnerloop.partner_portal.service import application as service
from partnerloop.web.forms import COUNTRIES, PostedFields, settings_of
from partnerloop.web.pages import PageNotFound

router = APIRouter(include_in_schema=False)


def _program(session: DbSession, program_id: str) -> Program:
    try:
        return service.public_program(session, program_id)
    except service.ProgramNotFound as error:
        raise PageNotFound(error.message) from None


def _page(
    request: Request,
    session: DbSession,
    program: Program,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    field_errors: dict[str, str] | None = None,
    status_code: int = 200,
    user_email: str | None = None,
) -> Response:
    form = service.form_settings(session, program.id)
    return render(
        request,
        "apply/form.html",
        {
            "program": program,
            "form": form,
            "brand_text": text_color_on(form.brand_color),
            "questions": repository.questions(session, program.id),
            "values": values or {},
            "error": error,
            "field_errors": field_errors or {},
            "countries": COUNTRIES,
            "user_email": user_email,
            "min_password": MIN_PASSWORD_LENGTH,
            "offer": service.offer_words(session, program),
        },
        status_code=status_code,
        image_origins=form.image_origins,
    )


@router.get("/apply/{program_id}")
def application_form(request: Request, session: DbSession, user: CurrentUser, program_id: str) -> Response:
    program = _program(session, program_id)
    return _page(request, session, program, user_email=user.email if user else None)


@router.post("/apply/{program_id}")
def submit_application(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    _csrf: CsrfChecked,
    fields: PostedFields,
    program_id: str,
) -> Response:
    program = _program(session, program_id)
    values = {key: value for key, value in fields.items() if key not in ("password", "csrf_token")}
    body = service.ApplicationIn(
        name=values.get("name", ""),
        email=values.get("email", ""),
        password=fields.get("password", ""),
        website=values.get("website", ""),
        country=values.get("country", ""),
        accept_terms=bool(values.get("accept_terms")),
        answers={key.removeprefix("q_"): value for key, value in values.items() if key.startswith("q_")},
    )
    try:
        submitted = service.apply(session, settings_of(request), program, body, user)
    except service.ApplicationInvalid as error:
        return _page(
            request, session, program, values=values, error=error.message, field_errors=error.field_errors,
            status_code=error.status_code, user_email=user.email if user else None,
        )  # fmt: skip
    except AppError as error:
        return _page(
            request, session, program, values=values, error=error.message, status_code=error.status_code,
            user_email=user.email if user else None,
        )  # fmt: skip
    outcome = submitted.application.status
    verify = "1" if submitted.new_account else "0"
    return redirect(request, f"/apply/{program.id}/thanks?status={outcome}&verify={verify}")


@router.get("/apply/{program_id}/thanks")
def thanks(request: Request, session: DbSession, program_id: str, status: str = "", verify: str = "0") -> Response:
    program = _program(session, program_id)
    form = service.form_settings(session, program.id)
    return render(
        request,
        "apply/thanks.html",
        {
            "program": program,
            "form": form,
            "brand_text": text_color_on(form.brand_color),
            "approved": status == ApplicationStatus.APPROVED,
            "verify": verify == "1",
        },
        image_origins=form.image_origins,
    )


@router.get("/apply/{program_id}/brand.css")
def brand_css(session: DbSession, program_id: str) -> Response:
    """The program's brand colour for its application pages (a stylesheet: the pages allow no inline style)."""
    program = repository.program(session, program_id)
    if program is None:
        return Response("", status_code=404, media_type="text/css")
    color = service.form_settings(session, program.id).brand_color  # validated #rrggbb
    text = text_color_on(color)
    css = (
        f".apply-band {{ background: {color}; color: {text}; }}\n"
        f".brand-button {{ background: {color}; color: {text}; }}\n"
    )
    return Response(css, media_type="text/css", headers={"Cache-Control": "no-cache"})
