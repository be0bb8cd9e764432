"""One rendering of errors for the JSON API: {"error": <Name>, "detail": <sentence>}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from partnerloop.kit.errors import AppError

log = logging.getLogger("partnerloop")

_HTTP_NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed"}


def error_response(status_code: int, name: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": name, "detail": detail}, status_code=status_code, headers=headers)


def _describe(errors: list[dict[str, object]]) -> str:
    parts = []
    for error in errors[:5]:
        location = ".".join(str(item) for item in error.get("loc", ()) if item != "body")  # type: ignore[attr-defined]
        message = str(error.get("msg", "invalid"))
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) + "."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, error: AppError) -> JSONResponse:
        return error_response(error.status_code, error.name, error.message, error.headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = list(error.errors())
        if any(item.get("type") == "json_invalid" for item in errors):
            return error_response(400, "MalformedJSON", "The request body is not valid JSON.")
        content_type = request.headers.get("content-type", "")
        body_errors = any(tuple(item.get("loc", ()))[:1] == ("body",) for item in errors)
        if body_errors and request.url.path.startswith("/api/") and "json" not in content_type:
            return error_response(
                415, "UnsupportedMediaType", "Send the body as JSON with 'Content-Type: application/json'."
            )
        return error_response(422, "ValidationError", _describe(errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        name = _HTTP_NAMES.get(error.status_code, "HTTPError")
        detail = error.detail if isinstance(error.detail, str) else name
        if error.status_code == 404 and detail == "Not Found":
            detail = "No such endpoint."
        return error_response(error.status_code, name, detail)

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, error: IntegrityError) -> JSONResponse:
        # A unique constraint lost a race the service did not expect: a conflict, never a 500.
        log.warning("integrity error answered as 409: %s", error.orig)
        return error_response(409, "Conflict", "The request conflicts with existing data; retry or fetch it.")
