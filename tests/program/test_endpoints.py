from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys


def test_get_program_shows_settings_but_no_secret(client: TestClient, program: ProgramKeys) -> None:
    body = client.get("/api/v1/program", headers=program.headers).json()
    assert body["id"] == program.id
    assert body["allowed_domains"] == ["acme.test"]
    assert body["cookie_days"] == 90 and body["hold_days"] == 30
    assert body["attribution_model"] == "last_click"
    assert "api_key" not in body


def test_patch_program_settings(client: TestClient, program: ProgramKeys) -> None:
    response = client.patch(
        "/api/v1/program",
        json={
            "cookie_days": 30,
            "hold_days": 0,
            "allowed_domains": ["acme.test", "Acme.Shop"],
            "stripe_webhook_secret": "whsec_test",
        },
        headers=program.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["cookie_days"] == 30 and body["hold_days"] == 0
    assert body["allowed_domains"] == ["acme.shop", "acme.test"]
    assert body["stripe_webhook_secret_set"] is True


def test_bad_program_settings_change_nothing(client: TestClient, program: ProgramKeys) -> None:
    for payload in [
        {"cookie_days": 0},
        {"cookie_days": "30"},
        {"hold_days": 1.5},
        {"attribution_model": "random"},
        {"allowed_domains": []},
        {"allowed_domains": ["not a domain"]},
        {"default_plan_id": "01unknown"},
        {"unknown_setting": 1},
    ]:
        response = client.patch("/api/v1/program", json=payload, headers=program.headers)
        assert 400 <= response.status_code < 500, payload
        assert set(response.json()) == {"error", "detail"}
    body = client.get("/api/v1/program", headers=program.headers).json()
    assert body["cookie_days"] == 90 and body["allowed_domains"] == ["acme.test"]


def test_healthz_and_openapi(client: TestClient) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["clicks"] == {"writer": "inline", "pending": 0, "unwritable": 0, "shed": 0, "lost": 0,
                                "failing_since": None, "last_error": None}  # fmt: skip
    spec = client.get("/openapi.json").json()
    assert "/api/v1/partners" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_unknown_endpoint_answers_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"


def test_a_body_that_is_not_sent_as_json_is_told_so(client: TestClient, program: ProgramKeys) -> None:
    response = client.post(
        "/api/v1/partners",
        content=b'{"email": "form@example.com", "name": "Form"}',
        headers={**program.headers, "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.json()["error"] == "UnsupportedMediaType"
    assert client.get("/api/v1/partners", headers=program.headers).json()["data"] == []
