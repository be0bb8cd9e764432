"""The process's Prometheus registry and the ASGI middleware that counts and times every HTTP request.

Requests are labelled by route template (`/api/v1/partners/{partner_id}`), never by raw path, so the
number of series is bounded by the routes: short links are `/go/{key}` (and `/{key}` on a program's link
domain), anything no route matched is `unmatched`. One registry per app (not prometheus-client's global
one): tests build many apps in one process, and each must count its own requests.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from itertools import accumulate
from time import perf_counter

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
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
        self.requests = RequestCollector()
        self.registry.register(self.requests)
        ProcessCollector(registry=self.registry)
        self.registry.register(ClickCollector(click_buffer))
        self.registry.register(DatabaseCollector(engine))

    def scrape(self, encoder: Callable[[CollectorRegistry], bytes] = generate_latest) -> bytes:
        """The exposition (text format by default); reads the database (a few aggregate queries)."""
        return encoder(self.registry)

    def middleware(self, app: ASGIApp) -> HttpMetrics:
        return HttpMetrics(app, self.requests.series)


# A series: a count per latency bucket (the last one +Inf, not cumulative), then the sum of seconds.
Series = list[float]


class RequestCollector(Collector):
    """Requests and their latency, exposed as a counter and a histogram.

    Hand-kept instead of prometheus-client's Counter and Histogram, which take a lock per value: those
    cost ~2.5 µs a request (~5% of a redirect's CPU), plain lists ~1.3 µs. The event loop is the only
    writer; a scrape (a thread-pool thread) copies each dict and list in one step under the GIL."""

    def __init__(self) -> None:
        self.series: dict[tuple[str, str, int], Series] = {}

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "partnerloop_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            labels=["route", "method", "status"],
        )
        latency: dict[tuple[str, str], Series] = {}
        for (route, method, status), counts in sorted(self.series.copy().items()):
            counts = list(counts)
            requests.add_metric([route, method, str(status)], sum(counts[:-1]))
            into = latency.setdefault((route, method), [0] * len(counts))
            for index, count in enumerate(counts):
                into[index] += count
        duration = HistogramMetricFamily(
            "partnerloop_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template and method.",
            labels=["route", "method"],
        )
        bounds = [*(str(bound) for bound in LATENCY_BUCKETS), "+Inf"]  # as prometheus-client writes them
        for (route, method), counts in latency.items():
            cumulative = list(accumulate(counts[:-1]))
            duration.add_metric([route, method], list(zip(bounds, cumulative, strict=True)), counts[-1])
        yield requests
        yield duration


class HttpMetrics:
    """Raw ASGI around the whole app, short links included: ~1.3 µs a request (docs/operations.md)."""

    def __init__(self, app: ASGIApp, series: dict[tuple[str, str, int], Series]) -> None:
        self.app = app
        self.series = series

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
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = [0] * (len(LATENCY_BUCKETS) + 1) + [0.0]
            series[bisect_left(LATENCY_BUCKETS, elapsed)] += 1  # the first bucket whose bound is >= elapsed
            series[-1] += elapsed
