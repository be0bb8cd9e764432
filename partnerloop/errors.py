"""One rendering of errors for the JSON API: {"error": <Name>, "detail": <sentence>}."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Protocol

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from partnerloop.kit.errors import AppError, DatabaseUnavailable

log = logging.getLogger("partnerloop")

_HTTP_NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed"}


def error_response(status_code: int, name: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": name, "detail": detail}, status_code=status_code, headers=headers)


def _plain(error: dict[str, object]) -> str:
    """Pydantic's message in words that say what to send instead (its own message for the rest)."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") if isinstance(error.get("ctx"), dict) else {}
    assert isinstance(ctx, dict)
    worded = {
        "missing": "is required",
        "greater_than_equal": f"must be at least {ctx.get('ge')}",
        "greater_than": f"must be more than {ctx.get('gt')}",
        "less_than_equal": f"must be at most {ctx.get('le')}",
        "less_than": f"must be less than {ctx.get('lt')}",
        "string_too_short": "must not be empty"
        if ctx.get("min_length") == 1
        else f"must be at least {ctx.get('min_length')} characters",
        "string_too_long": f"must be at most {ctx.get('max_length')} characters",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number (amounts are in minor units: cents)",
        "extra_forbidden": "is not a field of this request (check its spelling in the API reference)",
    }
    return worded.get(kind) or str(error.get("msg", "invalid"))


# SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN
_SQLITE_OUTAGES = frozenset({5, 6, 7, 8, 10, 13, 14})


class WriteFailures(Protocol):
    def record_write_failure(self, reason: str) -> None: ...


def database_outage(error: BaseException) -> DatabaseUnavailable | None:
    """The 503 for an error of the database itself (connection lost or refused, disk full, read-only, locked),
    None for anything else (a constraint, a bad statement: the request's or our fault, not an outage)."""
    if not isinstance(error, DBAPIError):
        return None
    orig = error.orig
    if isinstance(orig, sqlite3.Error):  # SQLite's OperationalError covers syntax errors too: by the code
        if getattr(orig, "sqlite_errorcode", 0) & 0xFF not in _SQLITE_OUTAGES:
            return None
    elif not (
        isinstance(error, OperationalError)
        or error.connection_invalidated
        or isinstance(orig, psycopg.errors.ReadOnlySqlTransaction)
    ):
        return None
    first_line = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return DatabaseUnavailable(f"The database cannot take this request now ({first_line[:200]}); retry later.")


def _record(app: object, outage: DatabaseUnavailable) -> None:
    health: WriteFailures | None = getattr(getattr(app, "state", None), "database_health", None)
    if health is not None:
        health.record_write_failure(outage.message)


class DatabaseOutageMiddleware:
    """Answers 503 DatabaseUnavailable for a database outage raised outside FastAPI's handlers (e.g. by the
    idempotency middleware), as long as no answer was started."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            outage = database_outage(error)
            if outage is None or started or scope["type"] != "http":
                raise
            log.warning("database outage answered as 503: %s", error)
            _record(self.api, outage)
            await error_response(503, outage.name, outage.message, outage.headers)(scope, receive, send)


def _describe(errors: list[dict[str, object]]) -> str:
    parts = []
    for error in errors[:5]:
        raw = error.get("loc", ())
        loc: tuple[object, ...] = tuple(raw) if isinstance(raw, (list, tuple)) else ()
        location = ".".join(str(item) for item in loc if item != "body")
        if not location and loc == ("body",) and error.get("type") == "missing":
            parts.append("The request needs a JSON body; none was sent")
            continue
        parts.append(f"{location}: {_plain(error)}" if location else str(error.get("msg", "invalid")))
    return "; ".join(parts) + "."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, error: AppError) -> JSONResponse:
        blank = [name for name, value in request.path_params.items() if not str(value).strip()]
        if error.status_code == 404 and blank:  # "No partner   in this program." says nothing
            message = f"The {blank[0]} in the path is empty: put the id there (as the list endpoints give it)."
            return error_response(404, error.name, message)
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
        if error.status_code == 400 and detail == "There was an error parsing the body":  # FastAPI: not UTF-8
            return error_response(400, "MalformedJSON", "The request body is not valid JSON (nor UTF-8 text).")
        return error_response(error.status_code, name, detail)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, error: DBAPIError) -> Response:
        outage = database_outage(error)
        if outage is None:
            raise error  # a bug or a bad statement: the server error it is
        log.warning("database outage answered as 503: %s", error)
        _record(request.app, outage)
        # Rendered as any AppError: JSON for the API, a page where the page handlers say so.
        render: Callable[[Request, Exception], Awaitable[Response]] = request.app.exception_handlers[AppError]
        return await render(request, outage)

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, error: IntegrityError) -> JSONResponse:
        # A unique constraint lost a race the service did not expect: a conflict, never a 500.
        log.warning("integrity error answered as 409: %s", error.orig)
        return error_response(409, "Conflict", "The request conflicts with existing data; retry or fetch it.")
