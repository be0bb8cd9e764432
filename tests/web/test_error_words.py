"""Error messages say what is wrong and what to send instead (issue 12, wall 11)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys


def _detail(response: object) -> str:
    return str(response.json()["detail"])  # type: ignore[attr-defined]


def test_a_missing_body_a_bound_and_an_unknown_field_are_worded(client: TestClient, program: ProgramKeys) -> None:
    headers = {**program.headers, "Content-Type": "application/json"}
    missing = client.post("/api/v1/partners", headers=headers)
    assert missing.status_code == 422 and _detail(missing) == "The request needs a JSON body; none was sent."
    low = client.patch("/api/v1/program", headers=program.headers, json={"cookie_days": 0})
    assert low.status_code == 422 and _detail(low) == "cookie_days: must be at least 1."
    extra = client.post("/api/v1/partners", headers=program.headers, json={"email": "a@example.com", "nmae": "A"})
    assert extra.status_code == 422 and "nmae: is not a field of this request" in _detail(extra)


def test_the_publishable_key_sent_as_the_secret_key_is_named(client: TestClient, program: ProgramKeys) -> None:
    wrong = {"Authorization": f"Bearer {program.publishable_key}"}
    for response in (
        client.get("/api/v1/partners", headers=wrong),
        client.post("/api/v1/track/lead", headers=wrong, json={"click_id": "x", "customer_external_id": "c"}),
    ):
        assert response.status_code == 401 and "publishable key" in _detail(response), response.text
        assert "secret key (pl_sk_" in _detail(response)


def test_a_blank_id_in_the_path_says_so(client: TestClient, program: ProgramKeys) -> None:
    response = client.get("/api/v1/partners/%20", headers=program.headers)
    assert response.status_code == 404 and _detail(response).startswith("The partner_id in the path is empty")
