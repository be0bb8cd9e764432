"""/manage/alerts: the review queue with each alert's evidence (clicks, IPs, timings, held commissions),
resolve / dismiss with a note, and the program's alert thresholds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from partnerloop.account.deps import ManagerAction, ManagerContext, ManagerPage, redirect
from partnerloop.alert import service as alert_service
from partnerloop.alert.rules import THRESHOLDS, AlertKind, AlertStatus
from partnerloop.kit.errors import AppError
from partnerloop.manage.views.common import page
from partnerloop.web.forms import PostedForm, text
from partnerloop.web.pages import PageNotFound

router = APIRouter(include_in_schema=False)


def _queue(request: Request, ctx: ManagerContext, status: str, kind: str, *, error: str | None = None,
           status_code: int = 200) -> Response:  # fmt: skip
    chosen = status if status in {item.value for item in AlertStatus} else None
    chosen_kind = kind if kind in {item.value for item in AlertKind} else None
    alerts, _cursor = alert_service.list_alerts(ctx.session, ctx.program, status=chosen, kind=chosen_kind, limit=100)
    values = alert_service.thresholds(ctx.session, ctx.program)
    return page(
        request,
        ctx,
        "manage/alerts.html",
        {
            "alerts": alerts,
            "status": status,
            "kind": kind,
            "statuses": [item.value for item in AlertStatus],
            "kinds": [item.value for item in AlertKind],
            "labels": {item.value: item.label for item in AlertKind},
            "thresholds": [(name, threshold, values[name]) for name, threshold in THRESHOLDS.items()],
            "error": error,
        },
        status_code,
    )


@router.get("/manage/alerts")
def alerts(request: Request, ctx: ManagerPage, status: str = "open", kind: str = "") -> Response:
    return _queue(request, ctx, status, kind)


def _evidence_items(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    shown = []
    for key, value in evidence.items():
        if key in ("earlier", "held_commission_ids", "click"):
            continue
        if isinstance(value, list):
            value = ", ".join(" ".join(str(part) for part in item) if isinstance(item, list) else str(item)
                              for item in value)  # fmt: skip
        shown.append((key.replace("_", " "), str(value)))
    return shown


@router.get("/manage/alerts/{alert_id}")
def alert_detail(request: Request, ctx: ManagerPage, alert_id: str) -> Response:
    try:
        alert = alert_service.get_alert(ctx.session, ctx.program, alert_id)
    except AppError:
        raise PageNotFound("There is no such alert in this program.") from None
    return page(
        request,
        ctx,
        "manage/alert.html",
        {
            "alert": alert,
            "label": AlertKind(alert.kind).label if alert.kind in AlertKind.__members__.values() else alert.kind,
            "evidence": _evidence_items(alert.evidence or {}),
            "click": (alert.evidence or {}).get("click"),
            "earlier": (alert.evidence or {}).get("earlier", []),
            "clicks": alert_service.evidence_clicks(ctx.session, ctx.program, alert),
            "held": alert_service.held_commissions(ctx.session, ctx.program, alert),
        },
    )


@router.post("/manage/alerts/{alert_id}")
def close_alert(request: Request, ctx: ManagerAction, alert_id: str, form: PostedForm) -> Response:
    try:
        alert_service.get_alert(ctx.session, ctx.program, alert_id)
    except AppError:
        raise PageNotFound("There is no such alert in this program.") from None
    action = text(form, "action")
    if action not in ("resolve", "dismiss"):
        return _queue(request, ctx, "open", "", error="Choose resolve or dismiss.", status_code=422)
    try:
        alert = alert_service.close_alert(ctx.session, ctx.program, alert_id, action, note=text(form, "note"),
                                          commissions=text(form, "commissions") or "keep", actor=ctx.user.email)  # fmt: skip
    except AppError as error:
        ctx.session.rollback()
        return _queue(request, ctx, "open", "", error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url("/manage/alerts"), notice=f"Alert {alert.kind.replace('_', ' ')} {alert.status}.")


@router.post("/manage/alerts-settings")
def save_thresholds(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    changes: dict[str, Any] = {}
    for name in THRESHOLDS:
        raw = text(form, name)
        if raw == "":
            continue
        try:
            changes[name] = float(raw)
        except ValueError:
            return _queue(request, ctx, "open", "", error=f"{name}: '{raw}' is not a number.", status_code=422)
    try:
        alert_service.update_thresholds(ctx.session, ctx.program, changes, actor=ctx.user.email)
    except AppError as error:
        ctx.session.rollback()
        return _queue(request, ctx, "open", "", error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url("/manage/alerts"), notice="Alert thresholds saved.")
