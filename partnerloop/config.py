"""Settings, read once from the environment."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from limits import parse
from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from partnerloop.kit.crypto import parse_fernet_keys

DEFAULT_SECRET = "dev-secret-change-me"


class Settings(BaseSettings):
    # hide_input_in_errors: a malformed ENCRYPTION_KEY or SECRET_KEY is never echoed into a log.
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", hide_input_in_errors=True)

    database_url: str = "sqlite:///./partnerloop.db"
    secret_key: str = DEFAULT_SECRET
    base_url: str = "http://127.0.0.1:8000"
    redis_url: str | None = None  # shared rate-limit counters (login lockout, API keys); unset: per process
    # Keys in Redis start with this: deployments (or test runs) sharing one Redis keep apart.
    rate_limit_key_prefix: str = "partnerloop"
    # Requests per secret API key to /api/v1/… (limits notation: "10000/minute", "100/second"); over it: 429.
    api_rate_limit: str = "10000/minute"
    smtp_url: str | None = None
    environment: str = "development"  # PARTNERLOOP_ENV is read below too
    # The click buffer: flushed every interval or when this many clicks wait.
    click_flush_interval_ms: int = 100
    click_batch_size: int = 2000
    click_buffer_max: int = 50_000
    # Who writes the clicks: "process", a writer process of the server's own (tracking/click_writer.py),
    # or "inline", the server's process (its event loop and a thread; what tests use).
    click_writer: Literal["process", "inline"] = "process"
    # Clicks the database cannot take (a full buffer, a shutdown during an outage) are appended here and
    # replayed once writes succeed; unset: beside the SQLite file, else ./click-spill (docs/operations.md).
    click_spill_dir: str | None = None
    link_cache_poll_ms: int = 500
    run_jobs_in_process: bool = True
    # Whether this process's job runner also starts the periodic jobs (approvals, scans, digests...) when due.
    # Any number of processes may (one of them wins each run); false leaves them to the others, e.g. to
    # `partnerloop worker`. Queued jobs run either way.
    periodic_jobs: bool = True
    job_poll_interval_ms: int = 500
    # Accounts: a login session ends after this long without a request, and in any case after the maximum.
    session_idle_minutes: int = 120
    session_max_hours: int = 24
    mail_from: str = "Partnerloop <no-reply@partnerloop.local>"
    # Secrets at rest (payout details, webhook signing secrets, Slack/HubSpot tokens, Stripe keys): Fernet keys
    # (urlsafe base64 of 32 bytes), comma-separated: the first encrypts, all decrypt (rotation, docs/security.md).
    # Unset: on SQLite a key generated once into `<database file>.key`; on PostgreSQL Partnerloop refuses to
    # start. PAYOUT_ENCRYPTION_KEY is the older name of the same setting.
    encryption_key: str | None = Field(
        default=None, validation_alias=AliasChoices("encryption_key", "payout_encryption_key")
    )
    paypal_api_base: str = "https://api-m.sandbox.paypal.com"
    paypal_client_id: str | None = None
    paypal_client_secret: str | None = None
    stripe_api_base: str | None = None  # e.g. a loopback server in tests; unset: Stripe's own
    stripe_secret_key: str | None = None  # a program's own key (payout settings) wins
    payout_http_timeout_s: float = 20.0
    payout_poll_seconds: float = 60.0
    # Outbound webhooks: private, loopback and link-local receivers are refused unless this is set
    # (ALLOW_PRIVATE_WEBHOOKS=1, development and tests only).
    allow_private_webhooks: bool = False
    webhook_timeout_s: float = 10.0  # connect, and the whole answer of one delivery attempt
    webhook_retention_days: int = 30  # finished events, deliveries and attempts older than this are deleted daily
    # Slack and HubSpot: Slack URLs must be https://hooks.slack.com/… and HubSpot is api.hubapi.com, unless
    # this is set (ALLOW_PRIVATE_INTEGRATIONS=1, development and tests only: loopback stand-ins).
    allow_private_integrations: bool = False
    hubspot_api_base: str | None = None  # e.g. a loopback server in tests; unset: https://api.hubapi.com
    # The ECB's daily euro reference rates, fetched by the fx.fetch_ecb job for every program; empty: not fetched.
    ecb_rates_url: str = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
    # GET /metrics (docs/operations.md): with METRICS_TOKEN set, scrapers send `Authorization: Bearer <token>`;
    # unset, only clients on loopback are answered. METRICS_ENABLED=0: no /metrics and no request timing.
    metrics_enabled: bool = True
    metrics_token: str | None = None

    @field_validator("api_rate_limit")
    @classmethod
    def _parse_rate_limit(cls, value: str) -> str:
        try:
            amount = parse(value).amount
        except ValueError as error:
            raise ValueError(f"API_RATE_LIMIT {value!r} is not a limit like '10000/minute'.") from error
        if amount < 1:
            raise ValueError("API_RATE_LIMIT must allow at least one request.")
        return value

    @field_validator("encryption_key")
    @classmethod
    def _check_encryption_keys(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_fernet_keys(value)
        return value

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment not in ("development", "test") and self.secret_key == DEFAULT_SECRET:
            raise ValueError("SECRET_KEY must be set outside development (ENVIRONMENT=production).")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """A plain postgresql:// URL selects our driver (psycopg 3)."""
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def payout_encryption_key(self) -> str | None:
        """The older name of `encryption_key`."""
        return self.encryption_key

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def writes_clicks_in_a_process(self) -> bool:
        """Whether a click writer process writes the clicks: as `click_writer` says, except for an in-memory
        SQLite database, which no other process can open."""
        in_memory = self.database_url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in self.database_url
        return self.click_writer == "process" and not in_memory


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
