"""GET /api/v1/alerts, POST /api/v1/alerts/{id}/resolve|dismiss, GET/PATCH /api/v1/alerts/settings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from partnerloop.alert import service
from partnerloop.alert.schemas import CloseAlertIn
from partnerloop.deps import Api

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.get("", summary="List alerts")
def list_alerts(
    api: Api,
    status: str | None = None,
    kind: str | None = None,
    partner_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Alerts newest first; `?status=open` is the review queue."""
    alerts, next_cursor = service.list_alerts(
        api.session, api.program, status=status, kind=kind, partner_id=partner_id, cursor=cursor, limit=limit
    )
    return {"data": [service.alert_out(alert) for alert in alerts], "next_cursor": next_cursor}


@router.get("/settings", summary="Get the alert thresholds")
def get_settings(api: Api) -> dict[str, Any]:
    """The program's alert thresholds, each with its default and allowed range."""
    return {"thresholds": service.thresholds_out(service.thresholds(api.session, api.program))}


@router.patch("/settings", summary="Change the alert thresholds")
def patch_settings(api: Api, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Change thresholds: {"click_spike_factor": 8, …}; a 422 names the first one unknown or out of range."""
    values = service.update_thresholds(api.session, api.program, body, actor=api.actor)
    return {"thresholds": service.thresholds_out(values)}


@router.get("/{alert_id}", summary="Get an alert")
def get_alert(api: Api, alert_id: str) -> dict[str, Any]:
    return service.alert_out(service.get_alert(api.session, api.program, alert_id))


@router.post("/{alert_id}/resolve", summary="Resolve an alert")
def resolve(api: Api, alert_id: str, body: CloseAlertIn | None = None) -> dict[str, Any]:
    """Resolved: the alert was right (pass "commissions": "reject" to reject what it held)."""
    body = body or CloseAlertIn()
    alert = service.close_alert(api.session, api.program, alert_id, "resolve", note=body.note,
                                commissions=body.commissions, actor=api.actor)  # fmt: skip
    return service.alert_out(alert)


@router.post("/{alert_id}/dismiss", summary="Dismiss an alert")
def dismiss(api: Api, alert_id: str, body: CloseAlertIn | None = None) -> dict[str, Any]:
    """Dismissed: a false alarm (pass "commissions": "approve" to release what it held)."""
    body = body or CloseAlertIn()
    alert = service.close_alert(api.session, api.program, alert_id, "dismiss", note=body.note,
                                commissions=body.commissions, actor=api.actor)  # fmt: skip
    return service.alert_out(alert)
