"""/manage/partners and /manage/applications: the partner list, applications queue, partner detail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from partnerloop.account import service as account_service
from partnerloop.account.deps import ManagerAction, ManagerContext, ManagerPage, redirect
from partnerloop.commission import figures as commission_figures
from partnerloop.conversion import explained
from partnerloop.conversion import figures as conversion_figures
from partnerloop.group import service as group_service
from partnerloop.kit.errors import AppError, InvalidInput
from partnerloop.ledger import service as ledger_service
from partnerloop.link import figures as link_figures
from partnerloop.manage import figures, repository, service
from partnerloop.manage.rules import PARTNER_SORTS, page_bounds
from partnerloop.manage.views.common import page
from partnerloop.models import Enrollment, Partner
from partnerloop.partner import figures as partner_figures
from partnerloop.partner import service as partner_service
from partnerloop.partner.rules import BanCommissions, EnrollmentStatus, next_status
from partnerloop.partner_portal.service import application as application_service
from partnerloop.plan import service as plan_service
from partnerloop.web.forms import PostedForm, settings_of, text, texts
from partnerloop.web.pages import PageNotFound

router = APIRouter(include_in_schema=False)


class BanChoiceUnknown(InvalidInput):
    pass


PER_PAGE = 50
STATUSES = [status.value for status in EnrollmentStatus]


def _list_page(
    request: Request,
    ctx: ManagerContext,
    *,
    q: str,
    status: str,
    group: str,
    sort: str,
    page_number: str | None,
    error: str | None = None,
    invite: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    status = status if status in STATUSES else ""
    sort = sort if sort in PARTNER_SORTS else "name"
    total = figures.count_partners(ctx.session, ctx.program, search=q, status=status, group_id=group)
    number, offset = page_bounds(page_number, total, PER_PAGE)
    rows, total = figures.partners(
        ctx.session, ctx.program, search=q, status=status, group_id=group, sort=sort, offset=offset, limit=PER_PAGE
    )
    pages = max(1, -(-total // PER_PAGE))
    return page(
        request,
        ctx,
        "manage/partners.html",
        {
            "rows": rows,
            "total": total,
            "q": q,
            "status": status,
            "group": group,
            "sort": sort,
            "statuses": STATUSES,
            "sorts": PARTNER_SORTS,
            "groups": group_service.groups_by_name(ctx.session, ctx.program.id),
            "page_number": number,
            "pages": pages,
            "error": error,
            "invite": invite or {"name": "", "email": ""},
        },
        status_code,
    )


def _ban_choice(form: FormData) -> BanCommissions:
    """What a ban does to the partner's unpaid commissions, as the form chose (reject when absent)."""
    value = text(form, "commissions")
    if not value:
        return BanCommissions.REJECT
    try:
        return BanCommissions(value)
    except ValueError:
        choices = " or ".join(f"'{choice.value}'" for choice in BanCommissions)
        raise BanChoiceUnknown(f"A ban's commissions are {choices}, not '{value[:40]}'.") from None


@router.get("/manage/partners")
def partners(
    request: Request,
    ctx: ManagerPage,
    q: str = "",
    status: str = "",
    group: str = "",
    sort: str = "name",
    page: str | None = None,
) -> Response:
    return _list_page(request, ctx, q=q, status=status, group=group, sort=sort, page_number=page)


@router.post("/manage/partners/bulk")
def bulk_partners(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    action = text(form, "action")
    ids = texts(form, "partner_ids")
    try:
        if action == "group":
            outcome = service.move_to_group(ctx.session, ctx.program, ids, text(form, "group_id"))
            message = outcome.summary("moved", "partner")
        else:
            outcome = service.change_partner_status(
                ctx.session,
                ctx.program,
                ids,
                action,
                reason=text(form, "reason"),
                commissions=_ban_choice(form),
                actor=ctx.user.email,
            )
            verb = {"ban": "banned", "unban": "unbanned", "deactivate": "deactivated", "approve": "approved"}.get(
                action, action
            )
            message = outcome.summary(verb, "partner")
    except AppError as error:
        return _list_page(
            request,
            ctx,
            q="",
            status="",
            group="",
            sort="name",
            page_number=None,
            error=error.message,
            status_code=error.status_code,
        )
    return redirect(
        request,
        text(form, "back") if text(form, "back").startswith("/manage/") else ctx.url("/manage/partners"),
        notice=message,
    )


@router.post("/manage/partners/invite")
def invite_partner(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    values = {"name": text(form, "name"), "email": text(form, "email")}
    try:
        with ctx.session.begin_nested():
            account_service.invite_partner(
                ctx.session,
                settings_of(request),
                program=ctx.program,
                inviter_user=ctx.user,
                email=values["email"],
                name=values["name"],
            )
    except AppError as error:
        return _list_page(
            request,
            ctx,
            q="",
            status="",
            group="",
            sort="name",
            page_number=None,
            error=error.message,
            invite=values,
            status_code=error.status_code,
        )
    return redirect(request, ctx.url("/manage/partners"), notice=f"Invitation sent to {values['email'].lower()}.")


# ---------------------------------------------------------------------------------- applications


def _applications_page(
    request: Request, ctx: ManagerContext, *, error: str | None = None, status_code: int = 200
) -> Response:
    rows, _total = figures.partners(
        ctx.session, ctx.program, search="", status="pending", group_id="", sort="newest", offset=0, limit=200
    )
    answers = {
        row.partner.id: row
        for row in application_service.applications(ctx.session, ctx.program.id, "pending", limit=200)
    }
    return page(
        request,
        ctx,
        "manage/applications.html",
        {"rows": rows, "applications": answers, "error": error},
        status_code,
    )


@router.get("/manage/applications")
def applications(request: Request, ctx: ManagerPage) -> Response:
    return _applications_page(request, ctx)


@router.post("/manage/applications")
def decide_applications(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    action = text(form, "action")
    try:
        outcome = service.decide_applications(
            ctx.session,
            settings_of(request),
            ctx.program,
            texts(form, "partner_ids"),
            action,
            by=ctx.user.email,
            reason=text(form, "reason"),
        )
    except AppError as error:
        return _applications_page(request, ctx, error=error.message, status_code=error.status_code)
    verb = "approved" if action == "approve" else "rejected"
    return redirect(request, ctx.url("/manage/applications"), notice=outcome.summary(verb, "application"))


# ---------------------------------------------------------------------------------- one partner


def _partner_or_404(ctx: ManagerContext, partner_id: str) -> tuple[Partner, Enrollment]:
    found = partner_figures.enrolled_partner(ctx.session, ctx.program.id, partner_id)
    if found is None:
        raise PageNotFound("No such partner in this program.")
    return found


def _detail_page(
    request: Request, ctx: ManagerContext, partner_id: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    partner, enrollment = _partner_or_404(ctx, partner_id)
    customers = conversion_figures.partner_customers(ctx.session, ctx.program.id, partner.id, limit=10)
    commissions = commission_figures.partner_commissions(ctx.session, ctx.program.id, partner.id, limit=15)
    context: dict[str, Any] = {
        "partner": partner,
        "enrollment": enrollment,
        "totals": figures.totals(ctx.session, ctx.program, None, partner_id=partner.id),
        "links": link_figures.partner_links(ctx.session, ctx.program.id, partner.id),
        "customers": customers,
        "customer_labels": explained.customer_labels(ctx.session, ctx.program.id, customers, masked=False),
        "attributions": explained.customer_attributions(ctx.session, ctx.program.id, customers),
        "commissions": commissions,
        "commission_attributions": explained.commission_attributions(ctx.session, ctx.program.id, commissions),
        "balances": ledger_service.balances(ctx.session, ctx.program.id, partner.id),
        "notes": repository.partner_notes(ctx.session, ctx.program.id, partner.id),
        "groups": group_service.groups_by_name(ctx.session, ctx.program.id),
        "plans": plan_service.plans_of(ctx.session, ctx.program.id),
        "group": group_service.find_group(ctx.session, ctx.program.id, enrollment.group_id)
        if enrollment.group_id
        else None,
        "has_login": partner.user_id is not None,
        "can_ban": next_status(EnrollmentStatus(enrollment.status), "ban") is not None,
        "can_unban": next_status(EnrollmentStatus(enrollment.status), "unban") is not None,
        "error": error,
        "base_url": settings_of(request).base_url.rstrip("/"),
    }
    context["plan_in_force"] = _plan_in_force(ctx, enrollment, context["group"])
    return page(request, ctx, "manage/partner.html", context, status_code)


def _plan_in_force(ctx: ManagerContext, enrollment: Enrollment, group: Any) -> tuple[str, str] | None:
    """(plan name, where it comes from): the partner's own, else the group's, else the program's default."""
    for plan_id, source in (
        (enrollment.plan_id, "the partner's own plan"),
        (group.plan_id if group is not None else None, f"the plan of group {group.name}" if group is not None else ""),
        (ctx.program.default_plan_id, "the program's default plan"),
    ):
        if plan_id:
            found = plan_service.find_plan(ctx.session, ctx.program.id, plan_id)
            if found is not None:
                return found.name, source
    return None


@router.get("/manage/partners/{partner_id}")
def partner_detail(request: Request, ctx: ManagerPage, partner_id: str) -> Response:
    return _detail_page(request, ctx, partner_id)


@router.post("/manage/partners/{partner_id}/status")
def partner_status(request: Request, ctx: ManagerAction, partner_id: str, form: PostedForm) -> Response:
    _partner_or_404(ctx, partner_id)
    action = text(form, "action")
    try:
        if action in ("approve", "reject") and _is_pending(ctx, partner_id):
            outcome = service.decide_applications(
                ctx.session,
                settings_of(request),
                ctx.program,
                [partner_id],
                action,
                by=ctx.user.email,
                reason=text(form, "reason"),
            )
        else:
            outcome = service.change_partner_status(
                ctx.session,
                ctx.program,
                [partner_id],
                action,
                reason=text(form, "reason"),
                commissions=_ban_choice(form),
                actor=ctx.user.email,
            )
    except AppError as error:
        return _detail_page(request, ctx, partner_id, error=error.message, status_code=error.status_code)
    if outcome.problems:
        return _detail_page(request, ctx, partner_id, error=outcome.problems[0], status_code=409)
    return redirect(request, ctx.url(f"/manage/partners/{partner_id}"), notice="Status changed.")


def _is_pending(ctx: ManagerContext, partner_id: str) -> bool:
    enrollment = partner_service.enrollment_of(ctx.session, ctx.program.id, partner_id)
    return enrollment is not None and enrollment.status in (EnrollmentStatus.PENDING, EnrollmentStatus.INVITED)


@router.post("/manage/partners/{partner_id}/group")
def partner_group(request: Request, ctx: ManagerAction, partner_id: str, form: PostedForm) -> Response:
    _partner_or_404(ctx, partner_id)
    try:
        service.move_to_group(ctx.session, ctx.program, [partner_id], text(form, "group_id"))
    except AppError as error:
        return _detail_page(request, ctx, partner_id, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url(f"/manage/partners/{partner_id}"), notice="Group changed.")


@router.post("/manage/partners/{partner_id}/plan")
def partner_plan(request: Request, ctx: ManagerAction, partner_id: str, form: PostedForm) -> Response:
    _partner_or_404(ctx, partner_id)
    try:
        with ctx.session.begin_nested():
            service.set_partner_plan(ctx.session, ctx.program, partner_id, text(form, "plan_id"))
    except AppError as error:
        return _detail_page(request, ctx, partner_id, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url(f"/manage/partners/{partner_id}"), notice="Plan changed.")


@router.post("/manage/partners/{partner_id}/notes")
def partner_note(request: Request, ctx: ManagerAction, partner_id: str, form: PostedForm) -> Response:
    _partner_or_404(ctx, partner_id)
    try:
        service.add_note(ctx.session, ctx.program, partner_id, ctx.user.id, text(form, "body"))
    except AppError as error:
        return _detail_page(request, ctx, partner_id, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url(f"/manage/partners/{partner_id}") + "#notes", notice="Note added.")
