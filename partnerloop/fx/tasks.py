"""`fx.fetch_ecb`: the ECB's daily euro reference rates, recorded for every program.

Split (jobs/queue.SplitJobHandler): the file is fetched with no transaction open (a slow server must not
hold SQLite's write lock), then parsed and recorded in the transaction that marks the job done. A failed
fetch or a file that is not the ECB's raises, so the queue tries again later with backoff; nothing is
recorded from it. Recording the same day again inserts nothing (ECB_RATES_URL empty: nothing is fetched).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from sqlalchemy.orm import Session

from partnerloop.config import Settings, get_settings
from partnerloop.fx import service
from partnerloop.fx.rules import MAX_ECB_BYTES, parse_ecb_xml
from partnerloop.jobs.queue import SplitJobHandler, split_job_handler

log = logging.getLogger("partnerloop.fx")

FETCH_ECB_JOB = "fx.fetch_ecb"
TIMEOUT_SECONDS = 20.0

_configured: Settings | None = None


def configure_fx(settings: Settings | None) -> None:
    """Use these settings (ECB_RATES_URL); None: read the environment."""
    global _configured
    _configured = settings


def fx_settings() -> Settings:
    return _configured or get_settings()


def _prepare(_session: Session, _payloads: list[dict[str, Any]]) -> str:
    return fx_settings().ecb_rates_url.strip()


def _fetch(url: str) -> bytes | None:
    """The file's bytes; None when fetching is switched off. Raises on a failed fetch (retried)."""
    if not url:
        return None
    with (
        httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=True, trust_env=False) as client,
        client.stream("GET", url, headers={"accept": "application/xml"}) as response,
    ):
        response.raise_for_status()  # a 5xx or 4xx: the job fails and is tried again later
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_ECB_BYTES:
                raise ValueError(f"{url} answered more than {MAX_ECB_BYTES} bytes: not the ECB's rates file")
        return body


def _record(session: Session, _payloads: list[dict[str, Any]], body: bytes | None) -> None:
    if body is None:
        return
    rates = parse_ecb_xml(body)  # a ValueError fails the job: retried, nothing recorded
    changed = service.record_ecb_rates(session, rates)
    log.info("ECB rates of %s: %d currencies, new for %d programs", rates.day, len(rates.rows), len(changed))


fetch_ecb = split_job_handler(FETCH_ECB_JOB, SplitJobHandler(prepare=_prepare, perform=_fetch, finish=_record))
