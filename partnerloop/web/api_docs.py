"""The API's documentation: /openapi.json with the API key and the real error shape declared, and /docs
(Swagger UI) and /redoc (ReDoc) served from our own process, so they work offline and under a CSP that
lets no request leave the site.

The assets come from fastapi-offline, a package that ships Swagger UI and ReDoc; the page that starts
Swagger UI is /static/api-docs.js, not an inline script, so the CSP needs no 'unsafe-inline' for scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from partnerloop.web.pages import templates

ASSETS_URL = "/docs/assets"
_ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

# Swagger UI and ReDoc set inline styles, and ReDoc runs its search in a worker made from a blob; scripts,
# fetches and images stay on this site.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

API_PREFIX = "/api/v1/"
SECURITY_SCHEME = "ApiKey"
# Under /api/v1 yet called by browsers with the publishable key (in the body), not the secret API key.
PUBLIC_API_PATHS = frozenset({"/api/v1/track/click"})
_WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
_ERROR_REF = {"$ref": "#/components/schemas/Error"}

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "description": "Every 4xx (and the 503 of /healthz) answers this shape.",
    "required": ["error", "detail"],
    "properties": {
        "error": {
            "type": "string",
            "description": "The error's name, stable for code to branch on.",
            "examples": ["PartnerNotFound", "ValidationError", "Unauthorized"],
        },
        "detail": {
            "type": "string",
            "description": "A sentence for people: what is wrong and, where it helps, what to do.",
            "examples": ["email: value is not a valid email address."],
        },
    },
}

IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "The same key and body replay the first answer (header `Idempotent-Replayed: true`); "
    "the same key with another body is a 409.",
    # What to send (jobs/idempotency.py refuses a blank or longer key): 1 to 255 printable ASCII characters,
    # not starting or ending with a space (a UUID does).
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"},
}


def error_responses(method: str, path: str, *, has_json_body: bool, rate_limited: bool = False) -> dict[str, str]:
    """The error answers an operation can give, as status code -> description (all in the Error shape)."""
    method = method.lower()
    if path.startswith("/integrations/stripe/webhook/"):
        return {
            "400": "InvalidSignature (missing, wrong, stale or future Stripe-Signature), MalformedEvent or "
            "StripeNotConfigured. Nothing is stored.",
            "404": "StripeProgramNotFound: no program with this id.",
            "413": "PayloadTooLarge: the body is over 1 MB.",
        }
    if not path.startswith(API_PREFIX):
        return {}
    answers: dict[str, str] = {}
    if has_json_body:
        answers["400"] = "MalformedJSON: the body is not valid JSON."
    if method == "post" and path not in PUBLIC_API_PATHS:
        answers["400"] = " ".join(
            filter(None, [answers.get("400"), "InvalidIdempotencyKey: the Idempotency-Key is empty or too long."])
        )
    if path not in PUBLIC_API_PATHS:
        answers["401"] = "Unauthorized: no `Authorization: Bearer <api_key>`, or the key is unknown or revoked."
    answers["404"] = (
        "NotFound (or the resource's own name, e.g. PartnerNotFound): an id in the path or body does not exist "
        "or belongs to another program."
    )
    if method == "post" and path not in PUBLIC_API_PATHS:
        answers["409"] = (
            "A conflict with the current state (e.g. the partner is banned, the key is taken), or the "
            "Idempotency-Key was used before with another body."
        )
    elif method in _WRITE_METHODS and method != "post":
        answers["409"] = "A conflict with the current state or with existing data."
    if method in _WRITE_METHODS:
        answers["413"] = "PayloadTooLarge: the body is over 1 MB."
    if has_json_body:
        answers["415"] = "UnsupportedMediaType: send the body as JSON with `Content-Type: application/json`."
    answers["422"] = (
        "ValidationError (or a domain's own name): the body or the query is not valid; `detail` names the field."
    )
    if rate_limited:
        answers["429"] = "TooManyRequests: slow down; `Retry-After` says in how many seconds to try again."
    answers["503"] = (
        "DatabaseUnavailable: the database takes no requests now (unreachable, disk full, read-only); nothing "
        "was changed unless a retry finds it done; `Retry-After` says in how many seconds to try again."
    )
    return answers


def document_operations(spec: dict[str, Any], *, rate_limited: bool = False) -> dict[str, Any]:
    """Add to FastAPI's schema what it cannot see: the bearer API key on every /api/v1 operation that takes it,
    the error shape and each operation's error answers, and the Idempotency-Key header of POSTs. Returns `spec`."""
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "pl_sk_…",
            "description": "The program's secret API key (Settings → API keys, or `partnerloop program create`).",
        }
    }
    components.setdefault("parameters", {})["IdempotencyKey"] = IDEMPOTENCY_KEY_PARAMETER
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "put", "post", "delete", "patch", "head", "options"}:
                continue
            content = operation.get("requestBody", {}).get("content", {})
            responses = operation.setdefault("responses", {})
            for status, description in error_responses(
                method, path, has_json_body="application/json" in content, rate_limited=rate_limited
            ).items():
                responses[status] = {
                    "description": description,
                    "content": {"application/json": {"schema": _ERROR_REF}},
                }
            if "422" in responses:  # FastAPI's own 422 shape is never sent: ours is the Error shape
                responses["422"]["content"] = {"application/json": {"schema": _ERROR_REF}}
            operation["responses"] = dict(sorted(responses.items()))
            if path.startswith(API_PREFIX):
                operation["security"] = [] if path in PUBLIC_API_PATHS else [{SECURITY_SCHEME: []}]
                if method == "post" and path not in PUBLIC_API_PATHS:
                    operation.setdefault("parameters", []).append({"$ref": "#/components/parameters/IdempotencyKey"})
    if path_health := spec.get("paths", {}).get("/healthz", {}).get("get"):
        path_health["responses"]["503"] = {
            "description": "DatabaseUnreachable (no connection) or DatabaseUnavailable (writes fail, e.g. a full "
            "disk): `detail` says why; `clicks` is the click buffer's state, as in the 200 answer.",
            "content": {"application/json": {"schema": _ERROR_REF}},
        }
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return spec


def _docs_page(request: Request, template: str) -> HTMLResponse:
    openapi_url = request.scope.get("root_path", "").rstrip("/") + str(request.app.openapi_url)
    response = templates.TemplateResponse(
        request, template, {"openapi_url": openapi_url, "assets_url": ASSETS_URL, "title": request.app.title}
    )
    response.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    return response


def install_api_docs(api: FastAPI, *, rate_limited: bool = False) -> None:
    """Serve /docs, /redoc and their assets from this process and document the API as `document_operations` says.
    The app is made with docs_url=None and redoc_url=None (FastAPI's own pages load from a CDN)."""

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            spec = get_openapi(title=api.title, version=api.version, description=api.description, routes=api.routes)
            api.openapi_schema = document_operations(spec, rate_limited=rate_limited)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
    api.mount(ASSETS_URL, StaticFiles(directory=str(_ASSETS_DIR)), name="api-docs-assets")

    @api.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return _docs_page(request, "api_docs/swagger.html")

    @api.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return _docs_page(request, "api_docs/redoc.html")
