"""The process's Prometheus registry and the ASGI middleware that counts and times every HTTP request.

Requests are labelled by route template (`/api/v1/partners/{partner_id}`), never by raw path, so the
number of series is bounded by the routes: short links are `/go/{key}` (and `/{key}` on a program's link
domain), anything no route matched is `unmatched`. One registry per app (not prometheus-client's global
one): tests build many apps in one process, and each must count its own requests.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import Engine
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from partnerloop.ops.collectors import ClickCollector, DatabaseCollector
from partnerloop.tracking.buffer import ClickBuffer

SHORT_LINK_ROUTE = "/go/{key}"
LINK_DOMAIN_ROUTE = "/{key}"
UNMATCHED_ROUTE = "unmatched"
# Set by PartnerloopApp on a request it hands to the redirect from a program's link domain.
ROUTE_SCOPE_KEY = "partnerloop.route"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# From the redirect's ~0.1 ms to a slow report: the default buckets start at 5 ms, above every redirect.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def route_template(scope: Scope) -> str:
    """The label of a request once it was answered: the template of the route that answered it."""
    if scope["path"].startswith("/go/"):
        return SHORT_LINK_ROUTE
    route = scope.get("route")
    if route is not None:
        path = str(getattr(route, "path", UNMATCHED_ROUTE))
        return f"{path}/{{path}}" if isinstance(route, Mount) else path
    if "endpoint" in scope:  # a Mount matched (FastAPI sets no route for it): its prefix is the root path now
        return f"{scope.get('root_path', '')}/{{path}}"
    return str(scope.get(ROUTE_SCOPE_KEY, UNMATCHED_ROUTE))


class AppMetrics:
    """One app's registry: HTTP requests and latency, the click buffer's totals, this process's CPU and
    memory, and the database figures (read when scraped, by DatabaseCollector)."""

    def __init__(self, engine: Engine, click_buffer: ClickBuffer) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "partnerloop_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "partnerloop_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        self.registry.register(ClickCollector(click_buffer))
        self.registry.register(DatabaseCollector(engine))

    def scrape(self, encoder: Callable[[CollectorRegistry], bytes] = generate_latest) -> bytes:
        """The exposition (text format by default); reads the database (a few aggregate queries)."""
        return encoder(self.registry)

    def middleware(self, app: ASGIApp) -> HttpMetrics:
        return HttpMetrics(app, self)


class HttpMetrics:
    """Raw ASGI around the whole app, short links included: ~2 µs a request (docs/operations.md).

    The (counter, histogram) children are bound once per label set and kept: `labels()` costs more than
    the increment and the observation together."""

    def __init__(self, app: ASGIApp, metrics: AppMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # the app raised before answering: the server answers 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            elapsed = perf_counter() - started
            method = scope["method"]
            key = (route_template(scope), method if method in METHODS else "other", status)
            children = self._children.get(key) or self._bind(key)
            children[0].inc()
            children[1].observe(elapsed)

    def _bind(self, key: tuple[str, str, int]) -> tuple[Counter, Histogram]:
        route, method, status = key
        children = (
            self.metrics.requests.labels(route, method, str(status)),
            self.metrics.duration.labels(route, method),
        )
        self._children[key] = children
        return children
