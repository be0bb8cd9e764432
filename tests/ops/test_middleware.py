"""The request middleware around plain ASGI apps: latency buckets, a failing app, other methods."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Message, Receive, Scope, Send

from partnerloop.ops.metrics import HttpMetrics, RequestCollector


def _run(call: Coroutine[Any, Any, None]) -> None:
    """asyncio.run in a thread of its own: the session's Playwright keeps an event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, call).result()


async def _slow_answer(_scope: Scope, _receive: Receive, send: Send) -> None:
    await asyncio.sleep(0.03)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _fails(_scope: Scope, _receive: Receive, _send: Send) -> None:
    raise RuntimeError("a bug")


async def _receive() -> Message:
    return {"type": "http.request", "body": b""}


async def _send(_message: Message) -> None:
    return None


def _samples(collector: RequestCollector) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _scope(method: str = "GET", path: str = "/api/v1/things") -> Scope:
    return {"type": "http", "method": method, "path": path, "headers": []}


def test_latency_lands_in_the_right_cumulative_buckets() -> None:
    collector = RequestCollector()
    middleware = HttpMetrics(_slow_answer, collector.series)
    _run(middleware(_scope(), _receive, _send))
    _run(middleware(_scope(), _receive, _send))
    samples = _samples(collector)
    labels = {("route", "unmatched"), ("method", "GET")}

    def bucket(le: str) -> float:
        return samples[("partnerloop_http_request_duration_seconds_bucket", frozenset({*labels, ("le", le)}))]

    assert bucket("0.025") == 0  # each took at least 30 ms
    assert bucket("+Inf") == 2
    buckets = [bucket(le) for le in ("0.0005", "0.001", "0.01", "0.025", "0.05", "0.1", "1.0", "10.0", "+Inf")]
    assert buckets == sorted(buckets)
    assert samples[("partnerloop_http_request_duration_seconds_count", frozenset(labels))] == 2
    assert samples[("partnerloop_http_request_duration_seconds_sum", frozenset(labels))] >= 0.06
    assert samples[("partnerloop_http_requests_total", frozenset({*labels, ("status", "204")}))] == 2


def test_an_app_that_raises_counts_as_a_500_and_still_raises() -> None:
    collector = RequestCollector()
    with pytest.raises(RuntimeError):
        _run(HttpMetrics(_fails, collector.series)(_scope("POST"), _receive, _send))
    samples = _samples(collector)
    key = frozenset({("route", "unmatched"), ("method", "POST"), ("status", "500")})
    assert samples[("partnerloop_http_requests_total", key)] == 1


def test_unknown_methods_share_one_label() -> None:
    collector = RequestCollector()
    middleware = HttpMetrics(_slow_answer, collector.series)
    for method in ("PROPFIND", "BREW", "GET"):
        _run(middleware(_scope(method, "/go/abc"), _receive, _send))
    samples = _samples(collector)
    methods = {dict(labels)["method"] for name, labels in samples if name == "partnerloop_http_requests_total"}
    assert methods == {"other", "GET"}
    other = frozenset({("route", "/go/{key}"), ("method", "other"), ("status", "204")})
    assert samples[("partnerloop_http_requests_total", other)] == 2
