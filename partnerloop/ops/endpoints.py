"""GET /metrics: Prometheus text format, behind METRICS_TOKEN or, without one, for loopback clients only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client.exposition import choose_encoder

from partnerloop.config import Settings
from partnerloop.errors import error_response
from partnerloop.ops.metrics import AppMetrics
from partnerloop.ops.rules import ScrapeRefusal, scrape_refusal

router = APIRouter(tags=["ops"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """A sync endpoint on purpose: the database figures are read in the thread pool, not on the event loop."""
    settings: Settings = request.app.state.settings
    app_metrics: AppMetrics | None = request.app.state.metrics
    if app_metrics is None:
        return error_response(404, "MetricsDisabled", "Metrics are turned off (METRICS_ENABLED=0).")
    client = request.client
    refusal = scrape_refusal(
        settings.metrics_token, request.headers.get("authorization"), client.host if client else None
    )
    if refusal is ScrapeRefusal.TOKEN_REQUIRED:
        response: JSONResponse = error_response(
            401, "MetricsTokenRequired", "Send the metrics token: Authorization: Bearer <METRICS_TOKEN>."
        )
        response.headers["www-authenticate"] = 'Bearer realm="metrics"'
        return response
    if refusal is ScrapeRefusal.LOOPBACK_ONLY:
        return error_response(
            403, "MetricsLoopbackOnly", "Without METRICS_TOKEN set, /metrics answers clients on this host only."
        )
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))  # OpenMetrics when asked for
    return Response(app_metrics.scrape(encoder), headers={"content-type": content_type})
