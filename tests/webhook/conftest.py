from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.jobs.runner import run_next_job
from partnerloop.kit.time import utc_now
from partnerloop.models import Job
from partnerloop.notify.email import configure_email
from partnerloop.webhook.service import DELIVER_JOB, configure_webhooks
from tests.conftest import make_settings
from tests.notify.smtp import smtp  # noqa: F401
from tests.webhook.receiver import Receiver

WORKER = "test-worker"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _forget_settings() -> Iterator[None]:
    yield
    configure_webhooks(None)
    configure_email(None)


@pytest.fixture
def api(engine: Engine, database_url: str) -> Iterator[TestClient]:
    """The app with private receivers allowed and no job runner: tests run the jobs themselves (run_jobs)."""
    app = create_app(make_settings(database_url, allow_private_webhooks=True, run_jobs_in_process=False))
    with TestClient(app, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def strict_api(engine: Engine, database_url: str) -> Iterator[TestClient]:
    """The app as in production: private receivers refused."""
    app = create_app(make_settings(database_url, allow_private_webhooks=False, run_jobs_in_process=False))
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def run_jobs(engine: Engine, now: datetime | None = None, limit: int = 1000) -> int:
    """Run every job due at `now` (default: the clock), as a worker would; return how many ran."""
    ran = 0
    while ran < limit and run_next_job(engine, WORKER, now=now or utc_now()):
        ran += 1
    return ran


def delivery_jobs(engine: Engine) -> list[Any]:
    with transaction(engine, writes=False) as session:
        return list(session.execute(select(Job).where(Job.kind == DELIVER_JOB).order_by(Job.run_at)).scalars())
