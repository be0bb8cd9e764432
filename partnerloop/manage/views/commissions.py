"""/manage/commissions: the review queue (pending, on hold) with bulk decisions, filters and CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from partnerloop.account.deps import ManagerAction, ManagerContext, ManagerPage, redirect
from partnerloop.commission.rules import CommissionStatus
from partnerloop.conversion import explained
from partnerloop.db import transaction
from partnerloop.kit.errors import AppError
from partnerloop.kit.time import utc_now
from partnerloop.manage import figures, service
from partnerloop.manage.rules import COMMISSION_QUEUE_STATUSES, COMMISSION_SORTS, page_bounds
from partnerloop.manage.views.common import page
from partnerloop.partner import figures as partner_figures
from partnerloop.web.forms import PostedForm, text, texts
from partnerloop.web.pages import apply_security_headers

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
KINDS = ("sale", "lead", "click", "bonus", "reversal", "manual", "clawback")


def _statuses(status: str) -> tuple[str, ...]:
    if status == "all":
        return ()
    if status in {item.value for item in CommissionStatus}:
        return (status,)
    return COMMISSION_QUEUE_STATUSES


def _day(value: str, *, end: bool = False) -> datetime | None:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=UTC)


def _filter(status: str, partner_id: str, kind: str, q: str, start: str, end: str) -> figures.CommissionFilter:
    return figures.CommissionFilter(
        statuses=_statuses(status),
        partner_id=partner_id,
        kind=kind if kind in KINDS else "",
        search=q,
        since=_day(start) if start else None,
        until=_day(end, end=True) if end else None,
    )


def _queue_page(
    request: Request,
    ctx: ManagerContext,
    *,
    status: str,
    partner_id: str,
    kind: str,
    q: str,
    start: str,
    end: str,
    page_number: str | None,
    sort: str = "date",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    sort = sort if sort in COMMISSION_SORTS else "date"
    where = _filter(status, partner_id, kind, q, start, end)
    total = figures.count_commissions(ctx.session, ctx.program.id, where)
    number, offset = page_bounds(page_number, total, PER_PAGE)
    rows, total = figures.commissions(ctx.session, ctx.program.id, where, offset=offset, limit=PER_PAGE, sort=sort)
    filters = {"status": status or "queue", "partner_id": partner_id, "kind": kind, "q": q, "start": start, "end": end}
    # the list's own order is kept on its links (pages, the back link after a decision), not sent to the CSV
    listing = {**filters, "sort": "" if sort == "date" else sort}
    bad_dates = (start and _day(start) is None) or (end and _day(end) is None)
    shown = [commission for commission, _name, _email in rows]
    customers = explained.customers_of(ctx.session, ctx.program.id, {c.customer_id for c in shown if c.customer_id})
    return page(
        request,
        ctx,
        "manage/commissions.html",
        {
            "rows": rows,
            "attributions": explained.commission_attributions(ctx.session, ctx.program.id, shown),
            "customer_labels": explained.customer_labels(
                ctx.session, ctx.program.id, list(customers.values()), masked=False
            ),
            "total": total,
            "sums": figures.commission_sums(ctx.session, ctx.program.id, where),
            "filters": filters,
            "statuses": [item.value for item in CommissionStatus],
            "kinds": KINDS,
            "sort": sort,
            "sorts": COMMISSION_SORTS,
            "listing": listing,
            "page_number": number,
            "pages": max(1, -(-total // PER_PAGE)),
            "error": error or ("Dates are written YYYY-MM-DD." if bad_dates else None),
            "partner": partner_figures.enrolled_partner(ctx.session, ctx.program.id, partner_id)
            if partner_id
            else None,
        },
        status_code,
    )


@router.get("/manage/commissions")
def commissions(
    request: Request,
    ctx: ManagerPage,
    status: str = "queue",
    partner_id: str = "",
    kind: str = "",
    q: str = "",
    start: str = "",
    end: str = "",
    page: str | None = None,
    sort: str = "date",
) -> Response:
    return _queue_page(
        request,
        ctx,
        status=status,
        partner_id=partner_id,
        kind=kind,
        q=q,
        start=start,
        end=end,
        page_number=page,
        sort=sort,
    )


@router.post("/manage/commissions")
def decide_commissions(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    action = text(form, "action")
    back = text(form, "back")
    try:
        outcome = service.change_commissions(ctx.session, ctx.program, texts(form, "commission_ids"), action)
    except AppError as error:
        return _queue_page(
            request,
            ctx,
            status="queue",
            partner_id="",
            kind="",
            q="",
            start="",
            end="",
            page_number=None,
            error=error.message,
            status_code=error.status_code,
        )
    verb = {"approve": "approved", "hold": "put on hold", "reject": "rejected"}[action]
    target = back if back.startswith("/manage/commissions") else ctx.url("/manage/commissions")
    return redirect(request, target, notice=outcome.summary(verb, "commission"))


@router.get("/manage/commissions.csv")
def export_commissions(
    request: Request,
    ctx: ManagerPage,
    status: str = "queue",
    partner_id: str = "",
    kind: str = "",
    q: str = "",
    start: str = "",
    end: str = "",
) -> Response:
    """Every commission matching the filters, streamed from its own read transaction (exports can be large)."""
    where = _filter(status, partner_id, kind, q, start, end)
    engine = request.app.state.engine
    program_id = ctx.program.id

    def lines() -> Iterator[str]:
        with transaction(engine, writes=False) as session:
            yield from service.commissions_csv(figures.commissions_for_export(session, program_id, where))

    filename = f"commissions-{utc_now().date().isoformat()}.csv"
    response = StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    apply_security_headers(request, response)
    return response
