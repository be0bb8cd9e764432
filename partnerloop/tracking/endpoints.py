"""The JS snippet and its click call.

- `GET /js/partnerloop.js`: the snippet, from the package, cacheable.
- `POST /api/v1/track/click` with the publishable key: records a click through the click buffer.
  The snippet sends its JSON as text/plain (a "simple" request: one request, no preflight); a
  preflight is still answered for callers that send application/json (`?key=` names the program).
  CORS headers are set only for origins on the program's allowed domains; anything else is a 4xx,
  logged, with nothing written.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from time import time

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from partnerloop.errors import error_response
from partnerloop.kit.errors import AppError
from partnerloop.tracking.batch import PendingClick
from partnerloop.tracking.buffer import ClickBuffer
from partnerloop.tracking.click_ids import click_ids
from partnerloop.tracking.site_service import (
    InvalidClick,
    MalformedClick,
    SiteClickIn,
    program_for_origin,
    resolve_site_click,
)

log = logging.getLogger("partnerloop.tracking")

router = APIRouter(tags=["tracking"])

SNIPPET = (Path(__file__).resolve().parent.parent / "static" / "partnerloop.js").read_bytes()
SNIPPET_ETAG = '"' + hashlib.sha256(SNIPPET).hexdigest()[:16] + '"'
MAX_CLICK_BODY = 8192
_CORS_MAX_AGE = "86400"


@router.get("/js/partnerloop.js", include_in_schema=False)
def snippet(request: Request) -> Response:
    headers = {
        "Cache-Control": "public, max-age=86400, stale-while-revalidate=604800",
        "ETag": SNIPPET_ETAG,
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Access-Control-Allow-Origin": "*",
    }
    if request.headers.get("if-none-match") == SNIPPET_ETAG:
        return Response(status_code=304, headers=headers)
    return Response(SNIPPET, media_type="application/javascript", headers=headers)


def _cors(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _refused(error: AppError, request: Request, origin: str | None) -> JSONResponse:
    client = request.client.host if request.client else "-"
    log.warning("track/click refused (%s, origin=%r, client=%s): %s", error.name, origin, client, error.message)
    return error_response(error.status_code, error.name, error.message)


@router.options("/api/v1/track/click", include_in_schema=False)
async def click_preflight(request: Request, key: str = "") -> Response:
    origin = request.headers.get("origin")
    try:
        await run_in_threadpool(program_for_origin, request.app.state.engine, key, origin)
    except AppError as error:
        return _refused(error, request, origin)
    assert origin is not None  # program_for_origin refuses a missing origin
    headers = {
        **_cors(origin),
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "content-type",
        "Access-Control-Max-Age": _CORS_MAX_AGE,
    }
    return Response(status_code=204, headers=headers)


@router.post("/api/v1/track/click", summary="Track a click from the site snippet", tags=["tracking"])
async def track_click(request: Request) -> Response:
    """Record a site click for the snippet: `{"key", "ref", "url", "referrer"?}` ->
    `{"click_id", "cookie_days", "params"}`."""
    origin = request.headers.get("origin")
    raw = await request.body()
    if len(raw) > MAX_CLICK_BODY:
        return error_response(413, "PayloadTooLarge", f"The body is over {MAX_CLICK_BODY} bytes.")
    try:
        body = SiteClickIn.model_validate_json(raw or b"{}")
    except ValidationError as error:
        if any(item.get("type") == "json_invalid" for item in error.errors()):
            return _refused(MalformedClick("The request body is not valid JSON."), request, origin)
        detail = "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors()[:5])
        return _refused(InvalidClick(detail + "."), request, origin)
    try:
        site_click = await run_in_threadpool(resolve_site_click, request.app.state.engine, body, origin)
    except AppError as error:
        return _refused(error, request, origin)

    headers = request.headers
    buffer: ClickBuffer = request.app.state.runtime.click_buffer
    click_id = click_ids().new(site_click.target.link_id_ascii)
    click: PendingClick = (
        click_id,
        site_click.target,
        time(),
        request.client.host if request.client else None,
        headers.get("user-agent", "").encode("latin-1", "replace"),
        (body.referrer or "").encode("utf-8", "replace"),
        headers.get("cf-ipcountry", "").encode("latin-1", "replace"),
    )
    buffer.add(click)
    assert origin is not None
    answer = {"click_id": click_id.decode(), "cookie_days": site_click.cookie_days, "params": site_click.link_params}
    return JSONResponse(answer, headers={**_cors(origin), "Cache-Control": "no-store"})
