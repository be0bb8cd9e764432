"""Wiring: the ASGI application. /go/{key} is answered before FastAPI; everything else is FastAPI."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from partnerloop import job_registry
from partnerloop.config import Settings, get_settings
from partnerloop.db import get_engine
from partnerloop.errors import DatabaseOutageMiddleware, install_error_handlers
from partnerloop.fx.tasks import configure_fx
from partnerloop.jobs.idempotency import IdempotencyMiddleware
from partnerloop.jobs.runner import JobRunner
from partnerloop.kit.ratelimit import KeyedLimit, counter_storage
from partnerloop.kit.sealing import check_encryption_key, configure_sealing
from partnerloop.notify.email import configure_email
from partnerloop.ops.health import DatabaseHealth
from partnerloop.ops.metrics import LINK_DOMAIN_ROUTE, ROUTE_SCOPE_KEY, AppMetrics
from partnerloop.payout.tasks import configure_payouts
from partnerloop.referral.tasks import configure_referrals
from partnerloop.tracking.buffer import ClickBuffer
from partnerloop.tracking.cache import LinkCache
from partnerloop.tracking.click_ids import configure_click_ids
from partnerloop.tracking.click_writer import ClickWriterProcess
from partnerloop.tracking.link_rules import host_of, link_domain_key
from partnerloop.tracking.redirect import RedirectApp
from partnerloop.web.api_docs import install_api_docs
from partnerloop.web.pages import EVERY_RESPONSE_HEADERS, HSTS, SecurityHeadersMiddleware, install_page_handlers
from partnerloop.web.request_limits import RequestLimitsMiddleware
from partnerloop.webhook.service import configure_webhooks

log = logging.getLogger("partnerloop")

HEALTH_ROUTE = "/healthz"
HEALTH_HEADERS = tuple((name.lower().encode(), value.encode()) for name, value in EVERY_RESPONSE_HEADERS.items())


@dataclass
class Runtime:
    """The long-lived parts of one web process, started and stopped by the lifespan."""

    settings: Settings
    engine: Engine
    link_cache: LinkCache
    click_buffer: ClickBuffer
    job_runner: JobRunner | None
    api_key_limit: KeyedLimit
    database_health: DatabaseHealth


def _routers(api: FastAPI) -> None:
    from partnerloop.account.views import router as account_router
    from partnerloop.alert.endpoints import router as alert_router
    from partnerloop.commission.endpoints import router as commission_router
    from partnerloop.conversion.endpoints import router as track_router
    from partnerloop.coupon.endpoints import router as coupon_router
    from partnerloop.engagement.endpoints import router as engagement_router
    from partnerloop.engagement.views import router as engagement_pages_router
    from partnerloop.fx.endpoints import router as fx_router
    from partnerloop.goal.endpoints import router as goal_router
    from partnerloop.group.endpoints import router as group_router
    from partnerloop.integrations.hubspot.endpoints import router as hubspot_router
    from partnerloop.integrations.slack.endpoints import router as slack_router
    from partnerloop.integrations.stripe.endpoints import router as stripe_router
    from partnerloop.integrations.stripe.endpoints import webhook_router as stripe_webhook_router
    from partnerloop.ledger.endpoints import router as ledger_router
    from partnerloop.link.endpoints import router as link_router
    from partnerloop.link.qr import router as link_qr_router
    from partnerloop.manage.views import router as manage_router
    from partnerloop.manage.views.integrations import router as integration_pages_router
    from partnerloop.manage.views.webhooks import router as webhook_pages_router
    from partnerloop.notify.views import router as notify_pages_router
    from partnerloop.ops.endpoints import router as ops_router
    from partnerloop.partner.endpoints import router as partner_router
    from partnerloop.partner_portal.views import router as partner_portal_router
    from partnerloop.payout.endpoints import router as payout_router
    from partnerloop.plan.endpoints import router as plan_router
    from partnerloop.program.endpoints import router as program_router
    from partnerloop.referral.endpoints import router as referral_router
    from partnerloop.referral.views import router as referral_pages_router
    from partnerloop.report.endpoints import router as report_router
    from partnerloop.tracking.endpoints import router as site_tracking_router
    from partnerloop.webhook.endpoints import catalogue_router as webhook_catalogue_router
    from partnerloop.webhook.endpoints import router as webhook_router

    for router in (
        site_tracking_router,
        report_router,
        goal_router,
        alert_router,
        program_router,
        referral_router,
        referral_pages_router,
        plan_router,
        partner_router,
        link_router,
        link_qr_router,
        track_router,
        commission_router,
        coupon_router,
        stripe_router,
        stripe_webhook_router,
        slack_router,
        hubspot_router,
        group_router,
        engagement_router,
        engagement_pages_router,
        ledger_router,
        payout_router,
        fx_router,
        webhook_router,
        webhook_catalogue_router,
        account_router,
        partner_portal_router,
        manage_router,
        webhook_pages_router,
        integration_pages_router,
        notify_pages_router,
        ops_router,
    ):
        api.include_router(router)


def create_app(settings: Settings | None = None) -> PartnerloopApp:
    settings = settings or get_settings()
    check_encryption_key(settings)  # no key on PostgreSQL: refuse to start (kit/sealing.py)
    engine = get_engine(settings)
    click_buffer = ClickBuffer(
        engine, settings, ClickWriterProcess(settings) if settings.writes_clicks_in_a_process else None
    )
    runtime = Runtime(
        settings=settings,
        engine=engine,
        link_cache=LinkCache(engine, settings),
        click_buffer=click_buffer,
        job_runner=(
            JobRunner(engine, settings, job_registry.SCHEDULES if settings.periodic_jobs else ())
            if settings.run_jobs_in_process
            else None
        ),
        api_key_limit=KeyedLimit(
            counter_storage(settings.redis_url, settings.rate_limit_key_prefix), settings.api_rate_limit, "api_key"
        ),
        database_health=DatabaseHealth(engine, click_buffer),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.link_cache.start()
        await runtime.click_buffer.start()
        runtime.database_health.start()
        if runtime.job_runner is not None:
            await runtime.job_runner.start()
        try:
            yield
        finally:
            # Stop taking jobs first, then drain the last clicks: nothing accepted is lost.
            if runtime.job_runner is not None:
                await runtime.job_runner.stop()
            await runtime.click_buffer.stop()  # bounded: what it cannot write in 10 s is spilled
            runtime.database_health.stop()
            await runtime.link_cache.stop()

    api = FastAPI(
        title="Partnerloop",
        version="0.1.0",
        description="Affiliate, partner and customer-referral programs: tracking, commissions, payouts.",
        lifespan=lifespan,
        docs_url=None,  # install_api_docs serves /docs and /redoc without a CDN
        redoc_url=None,
    )
    api.state.settings = settings
    api.state.engine = engine
    api.state.runtime = runtime
    api.state.api_key_limit = runtime.api_key_limit
    api.state.database_health = runtime.database_health  # the error handlers report outages to it
    api.state.metrics = AppMetrics(engine, runtime.click_buffer) if settings.metrics_enabled else None
    install_error_handlers(api)
    install_page_handlers(api)
    install_api_docs(api, rate_limited=True)  # every /api/v1 operation may answer 429 (kit/ratelimit)
    api.add_middleware(RequestLimitsMiddleware)  # inside the security headers, so its answers carry them
    api.add_middleware(SecurityHeadersMiddleware)
    configure_email(settings)
    configure_payouts(settings)
    configure_webhooks(settings)
    configure_fx(settings)
    configure_sealing(settings)
    configure_referrals(settings)
    click_ids = configure_click_ids(settings.secret_key)

    @api.get("/healthz", summary="Check the service's health", tags=["ops"])
    async def healthz() -> Response:
        # Documents the route and answers what PartnerloopApp does not take first (a query string, HEAD).
        status_code, body = runtime.database_health.report()
        headers = {"Retry-After": "5"} if status_code == 503 else None
        return Response(body, status_code=status_code, headers=headers, media_type="application/json")

    _routers(api)
    api.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    return PartnerloopApp(api, RedirectApp(runtime.link_cache, runtime.click_buffer, click_ids), runtime)


class PartnerloopApp:
    """Routes /go/ to the raw ASGI redirect (no routing or dependency machinery), the rest to FastAPI."""

    def __init__(self, api: FastAPI, redirect: RedirectApp, runtime: Runtime) -> None:
        self.api = api
        self.redirect = redirect
        self.runtime = runtime
        self._api_stack: ASGIApp = DatabaseOutageMiddleware(IdempotencyMiddleware(api, runtime.engine), api)
        self._link_cache = runtime.link_cache
        metrics: AppMetrics | None = api.state.metrics
        self._entry: ASGIApp = metrics.middleware(self._dispatch) if metrics is not None else self._dispatch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._entry(scope, receive, send)

    async def _healthz(self, scope: Scope, send: Send) -> None:
        """GET /healthz in raw ASGI (FastAPI's routing and middleware cost ~20x the answer itself): the
        state cached by ops/health.py, with the headers SecurityHeadersMiddleware gives every response."""
        scope[ROUTE_SCOPE_KEY] = HEALTH_ROUTE
        status_code, body = self.runtime.database_health.report()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *HEALTH_HEADERS,
        ]
        if status_code == 503:
            headers.append((b"retry-after", b"5"))
        if scope.get("scheme") == "https":
            headers.append((b"strict-transport-security", HSTS.encode()))
        await send({"type": "http.response.start", "status": status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == "/healthz" and scope["method"] == "GET" and not scope["query_string"]:
                await self._healthz(scope, send)
                return
            if path.startswith("/go/"):
                key = path[4:]
                await self.redirect.answer(scope, send, key[:-1] if key.endswith("/") else key, None)
                return
            hosts = self._link_cache.link_hosts  # program link domains: GET /{key} there is a short link
            if hosts and (key := link_domain_key(path)) is not None:
                for name, value in scope["headers"]:
                    if name == b"host":
                        host = hosts.get(host_of(value))
                        if host is not None:
                            scope[ROUTE_SCOPE_KEY] = LINK_DOMAIN_ROUTE
                            await self.redirect.answer(scope, send, key, host)
                            return
                        break
        await self._api_stack(scope, receive, send)


def app_factory() -> PartnerloopApp:
    """For `uvicorn --factory partnerloop.app:app_factory` and `serve --workers N`."""
    app = create_app()
    # Everything loaded so far (modules, the app, parsers) lives as long as the process: out of the
    # collector's sight, a full collection under click load stops the event loop for ~5 ms instead of
    # ~150 ms. Not in create_app(): tests build many apps in one process and must get theirs collected.
    gc.freeze()
    return app
