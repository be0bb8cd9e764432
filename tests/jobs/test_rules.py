"""The queue's pure decisions, by table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from partnerloop.jobs.rules import (
    FailureOutcome,
    IdempotencyDecision,
    JobStatus,
    after_failure,
    backoff,
    idempotency_decision,
    is_stored_response,
    next_schedule_run,
    request_fingerprint,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [
        pytest.param(0, timedelta(0), id="no failure yet waits nothing"),
        pytest.param(1, timedelta(seconds=15), id="after the first failure 15 s"),
        pytest.param(2, timedelta(seconds=30), id="after the second 30 s"),
        pytest.param(3, timedelta(minutes=1), id="after the third 1 min"),
        pytest.param(6, timedelta(minutes=8), id="after the sixth 8 min"),
        pytest.param(8, timedelta(minutes=32), id="after the eighth 32 min"),
        pytest.param(9, timedelta(hours=1), id="after the ninth capped at 1 h"),
        pytest.param(10_000, timedelta(hours=1), id="a huge count stays capped without overflow"),
    ],
)
def test_backoff_doubles_from_15_seconds_up_to_an_hour(attempts: int, delay: timedelta) -> None:
    assert backoff(attempts) == delay


@pytest.mark.parametrize(
    ("attempts", "max_attempts", "outcome"),
    [
        pytest.param(1, 8, FailureOutcome(JobStatus.QUEUED, NOW + timedelta(seconds=15)), id="first failure retries"),
        pytest.param(
            7, 8, FailureOutcome(JobStatus.QUEUED, NOW + timedelta(minutes=16)), id="one attempt left retries"
        ),
        pytest.param(8, 8, FailureOutcome(JobStatus.DEAD, NOW), id="the last attempt failed: dead"),
        pytest.param(1, 1, FailureOutcome(JobStatus.DEAD, NOW), id="a single-attempt job dies at once"),
        pytest.param(9, 8, FailureOutcome(JobStatus.DEAD, NOW), id="beyond the maximum: dead"),
    ],
)
def test_a_failure_retries_after_backoff_until_attempts_run_out(
    attempts: int, max_attempts: int, outcome: FailureOutcome
) -> None:
    assert after_failure(attempts, max_attempts, NOW) == outcome


@pytest.mark.parametrize(
    ("status", "finished", "retryable"),
    [
        pytest.param(JobStatus.QUEUED, False, False, id="queued is neither finished nor retried by hand"),
        pytest.param(JobStatus.RUNNING, False, False, id="running is neither"),
        pytest.param(JobStatus.DONE, True, False, id="done is finished and not retried"),
        pytest.param(JobStatus.DEAD, True, True, id="dead is finished and may be retried"),
    ],
)
def test_job_status_predicates(status: JobStatus, finished: bool, retryable: bool) -> None:
    assert status.is_finished is finished
    assert status.can_retry is retryable


MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("previous", "now", "expected"),
    [
        pytest.param(NOW, NOW, NOW + MINUTE, id="due exactly now: one interval later"),
        pytest.param(NOW - 10 * MINUTE, NOW, NOW + MINUTE, id="missed runs are not caught up"),
        pytest.param(NOW + MINUTE, NOW, NOW + 2 * MINUTE, id="a clock behind the stored time never moves it back"),
    ],
)
def test_next_schedule_run(previous: datetime, now: datetime, expected: datetime) -> None:
    assert next_schedule_run(previous, MINUTE, now) == expected


@pytest.mark.parametrize(
    ("stored_hash", "stored_status", "age", "decision"),
    [
        pytest.param("a", 201, timedelta(seconds=5), IdempotencyDecision.REPLAY, id="same request finished: replay"),
        pytest.param("a", 422, timedelta(hours=23), IdempotencyDecision.REPLAY, id="a stored 4xx is replayed too"),
        pytest.param("b", 201, timedelta(seconds=5), IdempotencyDecision.REUSED, id="another request: reused"),
        pytest.param(
            "b",
            None,
            timedelta(seconds=5),
            IdempotencyDecision.REUSED,
            id="another request while the first runs: reused",
        ),
        pytest.param(
            "a",
            None,
            timedelta(seconds=5),
            IdempotencyDecision.IN_PROGRESS,
            id="same request still running: in progress",
        ),
        pytest.param(
            "a",
            None,
            timedelta(minutes=2),
            IdempotencyDecision.EXPIRED,
            id="in progress for minutes: abandoned by a dead process",
        ),
        pytest.param(
            "b", 201, timedelta(hours=24), IdempotencyDecision.EXPIRED, id="after 24 hours any key is forgotten"
        ),
    ],
)
def test_idempotency_decision(
    stored_hash: str, stored_status: int | None, age: timedelta, decision: IdempotencyDecision
) -> None:
    assert (
        idempotency_decision(
            stored_hash=stored_hash, stored_status=stored_status, created_at=NOW - age, request_hash="a", now=NOW
        )
        is decision
    )


@pytest.mark.parametrize(
    ("status_code", "stored"),
    [
        pytest.param(200, True, id="200 stored"),
        pytest.param(201, True, id="201 stored"),
        pytest.param(409, True, id="409 stored"),
        pytest.param(422, True, id="422 stored"),
        pytest.param(429, False, id="429 not stored: the rate-limited request never ran"),
        pytest.param(500, False, id="500 not stored"),
        pytest.param(503, False, id="503 not stored"),
    ],
)
def test_only_answers_below_500_but_429_are_stored(status_code: int, stored: bool) -> None:
    assert is_stored_response(status_code) is stored


def test_request_fingerprint_tells_method_path_query_and_body_apart() -> None:
    base = request_fingerprint("POST", "/api/v1/partners", b"", b'{"a":1}')
    assert base == request_fingerprint("post", "/api/v1/partners", b"", b'{"a":1}')
    others = {
        request_fingerprint("PUT", "/api/v1/partners", b"", b'{"a":1}'),
        request_fingerprint("POST", "/api/v1/links", b"", b'{"a":1}'),
        request_fingerprint("POST", "/api/v1/partners", b"x=1", b'{"a":1}'),
        request_fingerprint("POST", "/api/v1/partners", b"", b'{"a":2}'),
        # the same bytes split differently between path and query differ too
        request_fingerprint("POST", "/api/v1/partnersx", b"", b'{"a":1}'),
        request_fingerprint("POST", "/api/v1/partners", b"", b'x{"a":1}'),
    }
    assert base not in others
    assert len(others) == 6
