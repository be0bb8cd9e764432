"""Figures read when /metrics is scraped, never per request: the click buffer's totals (this process's
memory) and a few aggregate queries across all programs (no program is ever a label)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from partnerloop.db import transaction
from partnerloop.jobs import queue
from partnerloop.jobs.rules import JobStatus
from partnerloop.kit.time import utc_now
from partnerloop.payout import figures as payout_figures
from partnerloop.tracking.buffer import ClickBuffer
from partnerloop.webhook import figures as webhook_figures

log = logging.getLogger("partnerloop.ops")

QUEUE_STATUSES = (JobStatus.QUEUED.value, JobStatus.RUNNING.value, JobStatus.DEAD.value)


class ClickCollector(Collector):
    """The click buffer of this process: accepted by the redirect, written, set aside, waiting."""

    def __init__(self, buffer: ClickBuffer) -> None:
        self.buffer = buffer

    def collect(self) -> Iterator[Metric]:
        counts = self.buffer.counts()
        yield CounterMetricFamily(
            "partnerloop_clicks_accepted", "Clicks accepted into the buffer by this process.", value=counts.accepted
        )
        yield CounterMetricFamily(
            "partnerloop_clicks_written", "Clicks written to the database (committed).", value=counts.written
        )
        yield CounterMetricFamily(
            "partnerloop_clicks_unwritable",
            "Clicks set aside because the database refuses their row (logged with the click); never dropped otherwise.",
            value=counts.unwritable,
        )
        yield CounterMetricFamily(
            "partnerloop_clicks_shed",
            "Clicks beyond the full click buffer (CLICK_BUFFER_MAX), sent to the spill file instead.",
            value=counts.shed,
        )
        yield CounterMetricFamily(
            "partnerloop_clicks_spilled",
            "Clicks stored in the spill file (shed, or not written by shutdown), to be replayed.",
            value=counts.spilled,
        )
        yield CounterMetricFamily(
            "partnerloop_clicks_lost",
            "Shed clicks that could not be spilled either (spill queue full or spill file unwritable).",
            value=counts.lost,
        )
        yield CounterMetricFamily(
            "partnerloop_clicks_replayed",
            "Clicks from spill files committed to the database (ids already stored skipped).",
            value=counts.replayed,
        )
        yield GaugeMetricFamily("partnerloop_clicks_pending", "Clicks accepted, not yet written.", value=counts.pending)
        failing = 0.0 if counts.failing_since is None else max(0.0, time.time() - counts.failing_since)
        yield GaugeMetricFamily(
            "partnerloop_clicks_write_failing_seconds",
            "How long writing clicks has been failing (being retried); 0 while writes succeed.",
            value=failing,
        )


class DatabaseCollector(Collector):
    """Queue depth, webhook deliveries and payouts, read at scrape time in one read-only transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "partnerloop_database_figures_up", "1 when this scrape could read the database figures, else 0."
        )
        try:
            with transaction(self.engine, writes=False) as session:
                jobs = queue.queue_figures(session, utc_now())
                deliveries = webhook_figures.deliveries_by_status(session)
                payouts = payout_figures.payouts_by_status(session)
        except Exception as error:  # an unreachable database must not fail the process's own figures
            log.warning("metrics: reading the database figures failed: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        kinds = sorted(queue.registered_kinds() | {kind for kind, _status in jobs.jobs})
        depth = GaugeMetricFamily(
            "partnerloop_jobs",
            "Jobs in the queue by kind and status (queued, running, dead).",
            labels=["kind", "status"],
        )
        retrying = GaugeMetricFamily(
            "partnerloop_jobs_retrying", "Queued jobs that failed at least once and wait for a retry.", labels=["kind"]
        )
        for kind in kinds:
            for status in QUEUE_STATUSES:
                depth.add_metric([kind, status], jobs.jobs.get((kind, status), 0))
            retrying.add_metric([kind], jobs.retrying.get(kind, 0))
        yield depth
        yield retrying
        yield GaugeMetricFamily(
            "partnerloop_jobs_oldest_due_seconds",
            "How long the oldest queued job that is due has waited; 0 when none is due.",
            value=jobs.oldest_due_seconds,
        )
        yield _by_status("partnerloop_webhook_deliveries", "Webhook deliveries kept, by status.", deliveries)
        yield _by_status("partnerloop_payouts", "Payouts by status.", payouts)


def _by_status(name: str, documentation: str, counts: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["status"])
    for status, count in sorted(counts.items()):
        family.add_metric([status], count)
    return family
