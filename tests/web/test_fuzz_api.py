"""The attack as a suite (issue 11): Schemathesis generates requests for every operation of the served
OpenAPI document, sends them with the program's secret API key through the running app (its lifespan
started), and checks each answer with `not_a_server_error` and `response_schema_conformance`. Zero
failures; the run is bounded (PARTNERLOOP_FUZZ_EXAMPLES examples per operation and generation mode,
derandomized so CI sees the same requests every time) and prints its figures and how long it took."""

from __future__ import annotations

import os
import time
import traceback
from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from partnerloop.app import PartnerloopApp
from tests.conftest import ProgramKeys

EXAMPLES = int(os.environ.get("PARTNERLOOP_FUZZ_EXAMPLES", "8"))
ONLY = os.environ.get("PARTNERLOOP_FUZZ_ONLY", "")  # a part of an operation's label, to rerun a few
SHOW_STATUS = os.environ.get("PARTNERLOOP_FUZZ_SHOW_STATUS", "")  # print every request answered with it
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
CHECKS = [not_a_server_error, response_schema_conformance]
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found, within the budget
    suppress_health_check=list(HealthCheck),
)


def _seed(client: TestClient, program: ProgramKeys) -> None:
    """A partner with a link, a lead, a sale and its commissions, a plan, a group, a coupon and a rate, so the
    lists answer real objects and their schemas are checked against them (a webhook endpoint needs DNS)."""

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = client.post(path, json=body, headers=program.headers)
        assert answer.status_code in (200, 201), f"{path}: {answer.text}"
        created: dict[str, Any] = answer.json()
        return created

    partner = post("/api/v1/partners", {"email": "ada@example.com", "name": "Ada"})
    plan = post("/api/v1/plans", {"name": "Standard", "rules": [
        {"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}},
        {"event": "lead", "reward": {"type": "flat", "amount": 500}}]})  # fmt: skip
    post("/api/v1/groups", {"name": "Gold", "plan_id": plan["id"]})
    post("/api/v1/links", {"partner_id": partner["id"], "destination_url": "https://acme.test/pricing"})
    post("/api/v1/track/lead", {"referral_code": partner["referral_code"], "customer_external_id": "cus_1"})
    post("/api/v1/track/sale", {"customer_external_id": "cus_1", "amount": 4900, "currency": "usd",
                                "invoice_id": "in_1"})  # fmt: skip
    post("/api/v1/coupons", {"code": "ADA10", "partner_id": partner["id"]})
    post("/api/v1/fx-rates", {"date": "2026-01-01", "base": "eur", "quote": "usd", "rate": "1.08"})


def _send(client: TestClient, request: dict[str, Any], number: int) -> Any:
    """Schemathesis serializes a case for `requests`; the TestClient (httpx) takes raw bodies as `content`.
    A valid Idempotency-Key is made unique: generated keys repeat, and a repeat is a replay or a 409 that
    never reaches the handler."""
    headers = request.setdefault("headers", {})
    key = headers.get("Idempotency-Key")
    if key is not None and key.strip() and len(key) <= 200:
        headers["Idempotency-Key"] = f"{number}-{key}"
    body = request.pop("data", None)
    if isinstance(body, str | bytes):
        request["content"] = body
    elif body is not None:
        request["data"] = body
    for unsupported in ("auth", "verify", "timeout", "allow_redirects"):
        request.pop(unsupported, None)
    if cookies := request.pop("cookies", None):  # per-request cookies are deprecated in httpx: as a header
        request.setdefault("headers", {})["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return client.request(**request, follow_redirects=False)


def test_generated_requests_get_no_server_error_and_answers_match_the_schema(
    app: PartnerloopApp, client: TestClient, program: ProgramKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    # The key is sent on every request (below): no examples spent on a missing or made-up key, which
    # tests/web/test_api_docs.py and every endpoint test already cover.
    config = schemathesis.config.SchemathesisConfig.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json(), config=config)
    _seed(client, program)
    operations = examples = 0
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    slowest: list[tuple[float, str]] = []
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        if ONLY not in operation.label:
            continue
        operations += 1
        operation_started = time.monotonic()
        for mode in MODES:

            @FUZZ_SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                nonlocal examples
                examples += 1
                request = case.as_transport_kwargs(base_url="http://testserver", headers=dict(program.headers))
                response = _send(client, request, examples)
                statuses[response.status_code] += 1
                if str(response.status_code) == SHOW_STATUS:  # to see why a status is this common
                    print(
                        case.operation.label,
                        request.get("headers"),
                        request.get("json"),
                        request.get("content"),
                        response.text[:300],
                    )
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                pass  # nothing to make invalid (GET /healthz has no parameters): no negative case exists
            except Exception as error:  # every failing operation is listed, not only the first
                where = "" if type(error).__module__.startswith("schemathesis") else traceback.format_exc(limit=-4)
                failures.append(f"{operation.label} [{mode.value}]: {str(error).strip()[:1500]}\n{where}")
        slowest.append((time.monotonic() - operation_started, operation.label))
    seconds = time.monotonic() - started
    answers = dict(sorted(statuses.items()))
    slow = ", ".join(f"{label} {spent:.1f} s" for spent, label in sorted(slowest, reverse=True)[:3])
    with capsys.disabled():  # in the CI log without -s: the run's cost is watched (budget ~90 s per database)
        print(
            f"\nschemathesis: {operations} operations, {examples} examples ({EXAMPLES} per operation and mode, "
            f"{'/'.join(mode.value for mode in MODES)}), {seconds:.1f} s, {len(failures)} failing; "
            f"answers {answers}; slowest {slow}"
        )
    assert not failures, "\n\n".join(failures)
