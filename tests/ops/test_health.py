"""GET /healthz answers from the state cached by ops/health.py: no database round trip per call, and still
503 within a probe interval or two when the database really cannot be reached (a PostgreSQL behind a
loopback proxy that is stopped, or a SQLite file that cannot be opened)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from partnerloop.app import create_app
from partnerloop.ops.health import PROBE_INTERVAL_S, DatabaseHealth
from partnerloop.tracking.buffer import ClickBuffer
from tests.conftest import make_settings
from tests.integration.test_database_outage import Proxy


def _eventually(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(0.05)
    return result


def test_healthz_sends_no_statement_per_call_only_the_probe_once_a_second(engine: Engine, database_url: str) -> None:
    app = create_app(make_settings(database_url))
    probes: list[float] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.strip() == "SELECT 1":
            probes.append(time.monotonic())

    event.listen(app.runtime.engine, "before_cursor_execute", count)
    try:
        with TestClient(app) as client:
            started = time.monotonic()
            answers = [client.get("/healthz") for _ in range(400)]
            elapsed = time.monotonic() - started
        assert {answer.status_code for answer in answers} == {200}
        assert answers[-1].json()["status"] == "ok" and answers[-1].json()["database"] == app.runtime.engine.name
        assert answers[-1].headers["x-content-type-options"] == "nosniff"
        assert answers[-1].headers["content-type"] == "application/json"
        # the probe at start, one per interval while the calls ran, one more for the edges; never one per call
        assert len(probes) <= 2 + elapsed / PROBE_INTERVAL_S, (len(probes), elapsed)
    finally:
        event.remove(app.runtime.engine, "before_cursor_execute", count)


def test_healthz_with_a_query_string_or_head_still_answers_through_the_documented_route(
    client: TestClient,
) -> None:
    assert client.get("/healthz?verbose=1").json()["status"] == "ok"
    assert client.post("/healthz").status_code == 405
    assert "/healthz" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        pytest.param("postgresql", "DatabaseUnreachable", id="PostgreSQL with nothing listening: unreachable"),
        pytest.param("sqlite", "DatabaseUnavailable", id="SQLite in a missing directory: unavailable"),
    ],
)
def test_the_probe_reports_a_database_that_cannot_be_reached(kind: str, error: str, tmp_path: Path) -> None:
    from tests.integration.test_database_outage import _free_port

    url = (
        f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/nobody"  # nothing listens there
        if kind == "postgresql"
        else f"sqlite:///{tmp_path / 'no-such-directory' / 'x.db'}"
    )
    engine = create_engine(url)
    health = DatabaseHealth(engine, ClickBuffer(engine, make_settings(url), None))
    problem = health.probe()
    assert problem is not None and problem.error == error, problem
    health.probe_problem = problem  # what start() keeps
    status_code, body = health.report()
    assert status_code == 503 and f'"error":"{error}"'.encode() in body and b'"clicks":{' in body


def test_the_probe_answers_while_a_writer_holds_the_database(engine: Engine, database_url: str) -> None:
    health = DatabaseHealth(engine, ClickBuffer(engine, make_settings(database_url), None))
    with engine.connect() as writer:  # a write transaction left open: BEGIN IMMEDIATE on SQLite
        writer.execute(text("SELECT 1"))
        started = time.monotonic()
        assert health.probe() is None
        assert time.monotonic() - started < 2, "the probe queued behind the writer"
        writer.rollback()


def test_healthz_answers_503_within_a_few_seconds_of_postgresql_going_away_and_200_once_back(
    engine: Engine,
    database_url: str,
) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("a stoppable network path to the database needs PostgreSQL (SQLite's outage: test_clicks)")
    real = make_url(database_url)
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    proxy.start()
    app = create_app(make_settings(real.set(host="127.0.0.1", port=proxy.port).render_as_string(False)))
    try:
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            proxy.stop()
            stopped = time.monotonic()
            answer = _eventually(lambda: (r := client.get("/healthz")).status_code == 503 and r, 5)
            assert time.monotonic() - stopped < 2 * PROBE_INTERVAL_S + 1.5
            assert answer.json()["error"] == "DatabaseUnreachable", answer.json()
            assert answer.headers["retry-after"] == "5" and "clicks" in answer.json()
            proxy.start()
            _eventually(lambda: client.get("/healthz").status_code == 200, 10)
    finally:
        proxy.stop()
