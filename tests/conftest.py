"""Test wiring: a real database (SQLite by default, PostgreSQL with TEST_DATABASE_URL), migrated once
per session through Alembic, emptied after every test. The app runs with its lifespan (click buffer,
link cache, job runner) through Starlette's TestClient. Nothing of ours is mocked."""

from __future__ import annotations

import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=".*httpx2.*")

from fastapi.testclient import TestClient  # noqa: E402

from partnerloop import migrate  # noqa: E402
from partnerloop.app import PartnerloopApp, create_app  # noqa: E402
from partnerloop.config import Settings  # noqa: E402
from partnerloop.db import dispose_engines, get_engine, transaction  # noqa: E402
from partnerloop.models import AlertSettings, Base  # noqa: E402
from partnerloop.program.service import create_program  # noqa: E402

_TMP = Path(tempfile.mkdtemp(prefix="partnerloop-tests-"))

# One fixed key for the suite and the processes it starts (they inherit the environment), so what a test
# seals a `partnerloop serve` or worker reads; PostgreSQL refuses to start without one (kit/sealing.py).
TEST_ENCRYPTION_KEY = "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy0hISE="
os.environ["ENCRYPTION_KEY"] = TEST_ENCRYPTION_KEY
# Tests never fetch the ECB's rates from the internet (the periodic fx.fetch_ecb job); tests/fx serve their own.
os.environ["ECB_RATES_URL"] = ""


def _database_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"


def _recreate_postgres_database(url: str) -> None:
    parsed = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    except Exception as error:  # under CI this must fail loudly, never skip
        pytest.exit(f"PostgreSQL is not reachable at {url}: {error}", returncode=3)
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def database_url() -> str:
    return _database_url()


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgres")


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "environment": "test",
        "encryption_key": TEST_ENCRYPTION_KEY,
        "base_url": "http://testserver",
        "click_flush_interval_ms": 20,
        "click_writer": "inline",  # tests of the writer process ask for it
        "job_poll_interval_ms": 50,
        "link_cache_poll_ms": 100,
        # The app's runner takes queued jobs but starts no periodic one: every test's empty database would
        # have each of them due at once, racing the test (tests of periodic jobs run them themselves).
        "periodic_jobs": False,
        "click_spill_dir": str(_TMP / f"spill-{uuid.uuid4().hex}"),  # each app its own: no replay across tests
        "ecb_rates_url": "",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
def engine(settings: Settings, database_url: str) -> Iterator[Engine]:
    if database_url.startswith("postgres"):
        _recreate_postgres_database(database_url)
    else:
        Path(database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    engine = get_engine(settings)
    migrate.upgrade(engine)
    yield engine
    dispose_engines()


def empty_all_tables(engine: Engine) -> None:
    """DELETE, children first, on both databases. On PostgreSQL a TRUNCATE of every table swaps
    each table's files and took 0.2-3 s per test (most of the suite's time); a DELETE of a test's
    few rows takes milliseconds. Sequences restart as TRUNCATE ... RESTART IDENTITY did."""
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        connection.execute(text("UPDATE programs SET default_plan_id = NULL"))
        if engine.dialect.name == "postgresql":
            connection.execute(text("; ".join(f"DELETE FROM {name}" for name in tables)))
            for (sequence,) in connection.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
            ):
                connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        else:
            for name in tables:
                connection.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from empty tables (API tests commit for real, so no outer rollback)."""
    yield
    if "engine" in request.fixturenames:
        empty_all_tables(request.getfixturevalue("engine"))


@pytest.fixture
def app(engine: Engine, settings: Settings) -> PartnerloopApp:
    return create_app(settings)


@pytest.fixture
def client(app: PartnerloopApp) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@dataclass
class ProgramKeys:
    id: str
    api_key: str
    publishable_key: str
    workspace_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def make_program(
    engine: Engine,
    name: str = "Acme",
    domains: tuple[str, ...] = ("acme.test",),
    currency: str = "usd",
    email: str | None = None,
) -> ProgramKeys:
    with transaction(engine) as session:
        created = create_program(
            session,
            name=name,
            domains=list(domains),
            currency=currency,
            owner_email=email or f"owner-{name.lower().replace(' ', '')}@example.com",
            owner_password="correct horse battery",
        )
        # Tests record a conversion milliseconds after its click, which the fast-conversion rule's default
        # (3 s) rightly flags and holds; the tests of that rule (tests/alert) turn it back on themselves.
        session.add(AlertSettings(program_id=created.program.id, thresholds={"fast_conversion_seconds": 0},
                                  updated_by="tests"))  # fmt: skip
        return ProgramKeys(
            created.program.id, created.api_key, created.program.publishable_key, created.program.workspace_id
        )


@pytest.fixture
def program(engine: Engine) -> ProgramKeys:
    return make_program(engine)


@pytest.fixture
def other_program(engine: Engine) -> ProgramKeys:
    return make_program(engine, name="Other", domains=("other.test",), email="owner-other@example.com")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A real Redis (TEST_REDIS_URL, default 127.0.0.1:6379/0); every test counts under a prefix of its own in
    `rate_limit_key_prefix` (see `redis_prefix`), removed afterwards: nothing else in that Redis is touched."""
    redis = pytest.importorskip("redis", reason="the redis client is not installed (not a dependency yet)")
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as error:  # Redis is part of the test machine: never skip silently
        pytest.fail(f"Redis is not reachable at {url}: {error}")
    yield url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    import redis

    prefix = f"partnerloop-test-{uuid.uuid4().hex}"
    yield prefix
    connection = redis.Redis.from_url(redis_url)
    for key in connection.scan_iter(match=f"{prefix}:*"):
        connection.delete(key)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
    "--host-resolver-rules=MAP *.test 127.0.0.1",  # merchant sites (acme.test, evil.test) on loopback
]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Debian Chromium for the whole session: Playwright's sync API allows one instance per thread."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does).")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
