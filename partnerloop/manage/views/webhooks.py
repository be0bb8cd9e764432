"""/manage/webhooks: the program's webhook endpoints (add, pause, rotate, test, delete), their deliveries
with a retry button, and the event catalogue with example payloads. Server-rendered, CSRF-checked."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from partnerloop.account.deps import ManagerAdmin, ManagerContext, ManagerPage, redirect
from partnerloop.kit.errors import AppError
from partnerloop.manage.views.common import page, validation_message
from partnerloop.web.forms import PostedForm, text, texts
from partnerloop.webhook import service
from partnerloop.webhook.catalogue import EVENT_TYPES, TEST_EVENT
from partnerloop.webhook.schemas import EndpointIn, EndpointPatch

router = APIRouter(include_in_schema=False)

DELIVERIES_PER_PAGE = 25


def _catalogue() -> list[dict[str, str]]:
    return [
        {"type": event.type, "description": event.description, "resource": event.resource,
         "example": json.dumps(event.example, indent=2)}
        for event in EVENT_TYPES
    ]  # fmt: skip


def _list_page(
    request: Request,
    ctx: ManagerContext,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    created: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    endpoints, _next = service.list_endpoints(ctx.session, ctx.program, cursor=None, limit=100)
    context = {
        "endpoints": [service.endpoint_out(endpoint) for endpoint in endpoints],
        "catalogue": _catalogue(),
        "subscribable": [event.type for event in EVENT_TYPES if event.type != TEST_EVENT],
        "error": error,
        "form": form or {"url": "", "description": "", "events": ["*"]},
        "created": created,
    }
    return page(request, ctx, "manage/webhooks.html", context, status_code)


@router.get("/manage/webhooks")
def webhooks_page(request: Request, ctx: ManagerPage) -> Response:
    return _list_page(request, ctx)


@router.post("/manage/webhooks")
def add_endpoint(request: Request, ctx: ManagerAdmin, form: PostedForm) -> Response:
    events = texts(form, "events")
    values = {"url": text(form, "url"), "description": text(form, "description"), "events": events}
    try:
        body = EndpointIn(url=values["url"], events=events, description=values["description"] or None)
        endpoint, secret = service.create_endpoint(ctx.session, ctx.program, body)
    except ValidationError as error:
        return _list_page(request, ctx, error=validation_message(error), form=values, status_code=422)
    except AppError as error:
        return _list_page(request, ctx, error=error.message, form=values, status_code=error.status_code)
    # The secret is in this answer only (never in a redirect or a cookie); the database keeps it encrypted.
    return _list_page(request, ctx, created={"id": endpoint.id, "url": endpoint.url, "secret": secret}, status_code=201)


def _detail_page(
    request: Request,
    ctx: ManagerContext,
    endpoint_id: str,
    *,
    cursor: str | None = None,
    error: str | None = None,
    secret: str | None = None,
    status_code: int = 200,
) -> Response:
    endpoint = service.get_endpoint(ctx.session, ctx.program, endpoint_id)
    deliveries, next_cursor = service.list_deliveries(
        ctx.session, ctx.program, endpoint.id, status=None, cursor=cursor, limit=DELIVERIES_PER_PAGE
    )
    context = {
        "endpoint": service.endpoint_out(endpoint),
        "deliveries": [
            {**delivery.model_dump(), "request_json": json.dumps(delivery.request_body, indent=2)}
            for delivery in deliveries
        ],
        "next_cursor": next_cursor,
        "catalogue": _catalogue(),
        "error": error,
        "secret": secret,
    }
    return page(request, ctx, "manage/webhook.html", context, status_code)


@router.get("/manage/webhooks/{endpoint_id}")
def endpoint_page(request: Request, ctx: ManagerPage, endpoint_id: str, cursor: str | None = None) -> Response:
    return _detail_page(request, ctx, endpoint_id, cursor=cursor)


def _act(request: Request, ctx: ManagerContext, endpoint_id: str, notice: str, act: Any) -> Response:
    try:
        with ctx.session.begin_nested():
            act()
    except AppError as error:
        return _detail_page(request, ctx, endpoint_id, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url(f"/manage/webhooks/{endpoint_id}"), notice=notice)


@router.post("/manage/webhooks/{endpoint_id}/status")
def change_status(request: Request, ctx: ManagerAdmin, endpoint_id: str, form: PostedForm) -> Response:
    wanted = text(form, "status")
    try:
        patch = EndpointPatch.model_validate({"status": wanted})
    except ValidationError:
        return _detail_page(request, ctx, endpoint_id, error="status: choose active or paused.", status_code=422)
    notice = "Endpoint paused: no events are sent to it." if wanted == "paused" else "Endpoint active again."
    return _act(
        request, ctx, endpoint_id, notice, lambda: service.update_endpoint(ctx.session, ctx.program, endpoint_id, patch)
    )


@router.post("/manage/webhooks/{endpoint_id}/test")
def send_test(request: Request, ctx: ManagerAdmin, endpoint_id: str, form: PostedForm) -> Response:
    event_type = text(form, "event_type") or None
    return _act(
        request,
        ctx,
        endpoint_id,
        f"Test event ({event_type or TEST_EVENT}) queued: it appears below once sent.",
        lambda: service.send_test(ctx.session, ctx.program, endpoint_id, event_type),
    )


@router.post("/manage/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry")
def retry_delivery(request: Request, ctx: ManagerAdmin, endpoint_id: str, delivery_id: str) -> Response:
    return _act(
        request,
        ctx,
        endpoint_id,
        "Delivery queued again (the same webhook-id).",
        lambda: service.retry_delivery(ctx.session, ctx.program, endpoint_id, delivery_id),
    )


@router.post("/manage/webhooks/{endpoint_id}/rotate")
def rotate_secret(request: Request, ctx: ManagerAdmin, endpoint_id: str) -> Response:
    try:
        _endpoint, secret = service.rotate_secret(ctx.session, ctx.program, endpoint_id)
    except AppError as error:
        return _detail_page(request, ctx, endpoint_id, error=error.message, status_code=error.status_code)
    return _detail_page(request, ctx, endpoint_id, secret=secret)


@router.post("/manage/webhooks/{endpoint_id}/delete")
def delete_endpoint(request: Request, ctx: ManagerAdmin, endpoint_id: str) -> Response:
    try:
        endpoint = service.get_endpoint(ctx.session, ctx.program, endpoint_id)
        url = endpoint.url
        service.delete_endpoint(ctx.session, ctx.program, endpoint_id)
    except AppError as error:
        return _list_page(request, ctx, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url("/manage/webhooks"), notice=f"Endpoint {url} deleted.")
