"""Whether the database takes writes, as last seen, for /healthz to answer without I/O.

Three sources: a probe every PROBE_INTERVAL_S in a thread of its own (a connection and `SELECT 1`, and on
SQLite the free space of the database's disk, since a tiny write may still fit where a batch of clicks does
not), the click buffer's failing writes, and API requests that met a database outage (held for
WRITE_FAILURE_HOLD_S after the last one). A daemon thread, not the event loop's executor: a probe stuck on a
database that does not answer must neither block the loop nor hold up the process's exit.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Engine, text

from partnerloop.tracking.buffer import ClickBuffer

log = logging.getLogger("partnerloop.ops")

PROBE_INTERVAL_S = 1.0  # one `SELECT 1` a second, whatever the number of /healthz calls
PROBE_OVERDUE_S = 10.0  # a probe still running after this long: the database does not answer
WRITE_FAILURE_HOLD_S = 10.0
MIN_FREE_BYTES = 1 << 20  # SQLite: below 1 MiB free, a batch of clicks or an API write may not fit


class HealthProblem(NamedTuple):
    error: str  # DatabaseUnreachable or DatabaseUnavailable
    detail: str


class DatabaseHealth:
    """The database's state as last seen by the probe, the click buffer and the API's requests."""

    def __init__(self, engine: Engine, click_buffer: ClickBuffer, interval_s: float = PROBE_INTERVAL_S) -> None:
        self.engine = engine
        self.click_buffer = click_buffer
        self.interval_s = interval_s
        self.probe_problem: HealthProblem | None = None
        self._probe_started: float | None = None  # monotonic; None while no probe runs
        self._write_failed_at = 0.0
        self._write_failure = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        url = engine.url
        self._sqlite_dir = (
            Path(url.database).resolve().parent
            if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:"
            else None
        )

    def start(self) -> None:
        """Probe once now (so the first answer is known), then every interval in a daemon thread."""
        self.probe_problem = self.probe()
        self._stop.clear()
        self._thread = threading.Thread(target=self._probe_forever, name="database-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()  # not joined: a probe stuck on the network must not delay the shutdown

    def record_write_failure(self, reason: str) -> None:
        """An API request met a database outage: unhealthy for WRITE_FAILURE_HOLD_S from now."""
        self._write_failed_at = time.monotonic()
        self._write_failure = reason

    def problem(self) -> HealthProblem | None:
        """Why the database cannot take writes now, or None; no I/O."""
        started = self._probe_started
        if started is not None and time.monotonic() - started > PROBE_OVERDUE_S:
            return HealthProblem(
                "DatabaseUnreachable", f"The database has not answered for {time.monotonic() - started:.0f} s."
            )
        if self.probe_problem is not None:
            return self.probe_problem
        buffer = self.click_buffer
        if buffer.failing_since is not None:
            since = datetime.fromtimestamp(buffer.failing_since, UTC).isoformat(timespec="seconds")
            return HealthProblem("DatabaseUnavailable", f"Writing clicks fails since {since}: {buffer.last_error}")
        if self._write_failed_at and time.monotonic() - self._write_failed_at < WRITE_FAILURE_HOLD_S:
            return HealthProblem("DatabaseUnavailable", f"An API request failed: {self._write_failure}")
        return None

    def report(self) -> tuple[int, bytes]:
        """/healthz's status code and JSON body, from the cached state only (no I/O): 200 with the database's
        dialect and the click buffer's state, or 503 with the problem and the same click state."""
        clicks = self.click_buffer.status()
        failing_since = clicks["failing_since"]
        if isinstance(failing_since, datetime):
            clicks["failing_since"] = failing_since.isoformat()
        problem = self.problem()
        if problem is not None:
            return 503, _json({"error": problem.error, "detail": problem.detail, "clicks": clicks})
        return 200, _json({"status": "ok", "database": self.engine.dialect.name, "clicks": clicks})

    def probe(self) -> HealthProblem | None:
        """One probe (blocking): free space on SQLite's disk, then a connection and `SELECT 1`."""
        self._probe_started = time.monotonic()
        try:
            if self._sqlite_dir is not None:
                try:
                    disk = os.statvfs(self._sqlite_dir)
                except OSError as error:
                    return HealthProblem("DatabaseUnavailable", f"The database's directory cannot be read: {error}")
                # root may write into the blocks reserved for it; anyone else may not
                free = (disk.f_bfree if os.geteuid() == 0 else disk.f_bavail) * disk.f_frsize
                if free < MIN_FREE_BYTES:
                    return HealthProblem(
                        "DatabaseUnavailable", f"The database's disk is full ({free} bytes free in {self._sqlite_dir})."
                    )
            try:
                with self.engine.connect() as connection:
                    # A read (plain BEGIN on SQLite, not the writers' BEGIN IMMEDIATE): a probe queued behind
                    # busy writers would say "not answered for 10 s" of a database that is only busy. The
                    # free space above and failing click / API writes say whether writes fit.
                    connection.execution_options(sqlite_write=False).execute(text("SELECT 1"))
            except Exception as error:  # any failure to reach the database is "unhealthy"
                first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
                return HealthProblem("DatabaseUnreachable", f"The database cannot be reached: {first_line[:300]}")
            return None
        finally:
            self._probe_started = None

    def _probe_forever(self) -> None:
        while not self._stop.wait(self.interval_s):
            problem = self.probe()
            if problem != self.probe_problem:
                if problem is None:
                    log.warning("health: the database is healthy again")
                else:
                    log.warning("health: %s", problem.detail)
            self.probe_problem = problem


def _json(content: dict[str, object]) -> bytes:
    """As Starlette's JSONResponse renders it: compact, UTF-8."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
