"""/openapi.json, /docs and /redoc: assets of our own, the API key declared, the real error shape documented."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from partnerloop.web.api_docs import error_responses
from tests.conftest import ProgramKeys

_METHODS = ("get", "put", "post", "delete", "patch")


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op) for path, item in spec["paths"].items() for method, op in item.items() if method in _METHODS
    ]


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    answer: dict[str, Any] = client.get("/openapi.json").json()
    return answer


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_only_assets_of_our_own_under_a_csp(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy and "http" not in policy
    assets = _Assets()
    assets.feed(response.text)
    scripts = [url for url in assets.urls if url.endswith(".js")]
    assert scripts, response.text
    for url in assets.urls:
        assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url} from elsewhere"
        asset = client.get(url)
        assert asset.status_code == 200, url
    assert "cdn" not in response.text.lower() and "googleapis" not in response.text
    assert "<script>" not in response.text  # no inline script: the CSP allows none


def test_the_schema_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)  # raises on the first error


def test_every_operation_has_a_written_summary_of_its_own(spec: dict[str, Any]) -> None:
    summaries = []
    for path, method, operation in _operations(spec):
        function = operation["operationId"].removesuffix(re.sub(r"\W", "_", path) + "_" + method)
        summary = operation.get("summary", "")
        assert summary and summary != function.replace("_", " ").title(), f"{method} {path}: {summary!r}"
        summaries.append(summary)
    assert len(summaries) == len(set(summaries)), sorted(s for s in summaries if summaries.count(s) > 1)


def test_every_api_operation_declares_the_bearer_api_key_and_refuses_a_request_without_it(
    client: TestClient, spec: dict[str, Any], program: ProgramKeys
) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes == {"ApiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "pl_sk_…",
                                  "description": schemes["ApiKey"]["description"]}}  # fmt: skip
    api_operations = [(path, method, op) for path, method, op in _operations(spec) if path.startswith("/api/v1/")]
    assert len(api_operations) > 100
    public = []
    for path, method, operation in api_operations:
        url = re.sub(r"\{[^}]+\}", "01unknown", path)
        answer = client.request(method.upper(), url)
        if operation["security"] == []:
            public.append(path)
            assert answer.status_code != 401, f"{method} {path} is public in the docs, yet answers 401"
            continue
        assert operation["security"] == [{"ApiKey": []}], f"{method} {path}"
        assert answer.status_code == 401, f"{method} {path} declares the key, yet answers {answer.status_code}"
        assert set(answer.json()) == {"error", "detail"}
    assert public == ["/api/v1/track/click"]  # the site snippet's, with the publishable key


def test_the_error_shape_is_a_component_and_the_errors_each_operation_can_give_use_it(
    client: TestClient, spec: dict[str, Any], program: ProgramKeys
) -> None:
    error_schema = spec["components"]["schemas"]["Error"]
    assert error_schema["required"] == ["error", "detail"]
    assert "HTTPValidationError" not in str(spec)  # FastAPI's own 422 shape is never what we send
    for path, method, operation in _operations(spec):
        if not path.startswith("/api/v1/"):
            continue
        responses = operation["responses"]
        expected = {"404", "422"} | ({"401"} if operation["security"] else set())
        if method in ("put", "patch", "delete") or (method == "post" and operation["security"]):
            expected.add("409")
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            expected |= {"400", "413", "415"}
        assert expected <= set(responses), f"{method} {path}: {sorted(responses)}"
        for status in expected:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, f"{method} {path} {status}"
    # What the API really answers fits the documented shape.
    for answer in (
        client.get("/api/v1/partners/01unknown", headers=program.headers),  # 404
        client.post("/api/v1/partners", json={"email": "not an email"}, headers=program.headers),  # 422
        client.post("/api/v1/partners", content=b"{", headers={**program.headers, "Content-Type": "application/json"}),
        client.post(
            "/api/v1/partners",
            content=b"email=a",
            headers={**program.headers, "Content-Type": "application/x-www-form-urlencoded"},
        ),  # 415; fmt: skip
        client.get("/api/v1/partners"),  # 401
    ):
        assert answer.status_code in (400, 401, 404, 415, 422), answer.text
        jsonschema.validate(answer.json(), {**error_schema, "additionalProperties": False})


def test_post_operations_document_the_idempotency_key_header(spec: dict[str, Any]) -> None:
    operation = spec["paths"]["/api/v1/partners"]["post"]
    assert {"$ref": "#/components/parameters/IdempotencyKey"} in operation["parameters"]
    assert spec["components"]["parameters"]["IdempotencyKey"]["name"] == "Idempotency-Key"


@pytest.mark.parametrize(
    ("method", "path", "has_json_body", "rate_limited", "expected"),
    [
        pytest.param("get", "/api/v1/partners/{partner_id}", False, False, ["401", "404", "422", "503"],
                     id="a read: no key, unknown id, bad query"),
        pytest.param("post", "/api/v1/partners", True, False, ["400", "401", "404", "409", "413", "415", "422", "503"],
                     id="a create with a JSON body: every body error and the idempotency conflict"),
        pytest.param("delete", "/api/v1/links/{link_id}", False, False, ["401", "404", "409", "413", "422", "503"],
                     id="a delete without a body: conflicts and the size limit still apply"),
        pytest.param("post", "/api/v1/track/click", True, False, ["400", "404", "413", "415", "422", "503"],
                     id="the public click endpoint: no key, so no 401 and no idempotency"),
        pytest.param("get", "/api/v1/partners", False, True, ["401", "404", "422", "429", "503"],
                     id="under rate limiting: 429 too"),
        pytest.param("post", "/integrations/stripe/webhook/{program_id}", False, False, ["400", "404", "413"],
                     id="the Stripe webhook: signature errors are 400"),
        pytest.param("get", "/healthz", False, False, [], id="outside the API: none"),
    ],
)  # fmt: skip
def test_error_responses(method: str, path: str, has_json_body: bool, rate_limited: bool, expected: list[str]) -> None:
    answers = error_responses(method, path, has_json_body=has_json_body, rate_limited=rate_limited)
    assert sorted(answers) == expected
