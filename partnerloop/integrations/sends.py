"""What the Slack and HubSpot senders share once a try is over: a success is stamped on the program's
connection, a failure is recorded on it and tried again later as a new job due then (rules.retry_delay:
429 with Retry-After honoured, 5xx and no answer) or dropped (any other 4xx, too many tries)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from partnerloop.integrations.rules import retry_delay
from partnerloop.jobs.queue import JobSpec, enqueue_many
from partnerloop.kit.time import utc_now

log = logging.getLogger("partnerloop.integrations")


@dataclass(frozen=True)
class Outcome:
    """One job's try: `sendable` is False when it was not sent for a reason a later try cannot mend."""

    program_id: str
    payload: dict[str, Any]
    sendable: bool
    status_code: int | None
    retry_after: str | None
    error: str | None


class Connection(Protocol):
    last_error: str | None


C = TypeVar("C", bound=Connection)


def finish_sends(
    session: Session,
    outcomes: Iterable[Outcome],
    *,
    job_kind: str,
    connection: Callable[[Session, str], C | None],
    succeeded: Callable[[C, datetime], None],
) -> None:
    """Record each outcome on the program's connection (locked) and enqueue the retries of `job_kind`."""
    now = utc_now()
    retries = []
    for outcome in outcomes:
        found = connection(session, outcome.program_id)
        if found is None:
            continue  # disconnected meanwhile
        if outcome.error is None:
            succeeded(found, now)
            found.last_error = None
            continue
        found.last_error = f"{now.isoformat()}: {outcome.error}"
        tries = int(outcome.payload.get("tries") or 0) + 1
        delay = retry_delay(tries, outcome.status_code, outcome.retry_after) if outcome.sendable else None
        if delay is None:
            log.warning("%s of %s dropped: %s", job_kind, outcome.program_id, outcome.error)
            continue
        payload = {**outcome.payload, "tries": tries}
        retries.append(JobSpec(job_kind, payload, outcome.program_id, now + timedelta(seconds=delay)))
    enqueue_many(session, retries)
