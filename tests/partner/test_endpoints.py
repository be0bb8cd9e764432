from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys


def test_create_partner_is_approved_with_a_referral_code(client: TestClient, program: ProgramKeys) -> None:
    response = client.post(
        "/api/v1/partners", json={"email": "Jane@Example.com", "name": "Jane Doe"}, headers=program.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "approved"
    assert body["email"] == "jane@example.com"
    assert body["referral_code"].startswith("janedoe")
    assert client.get(f"/api/v1/partners/{body['id']}", headers=program.headers).json() == body


def test_pending_partner_is_approved_then_banned(client: TestClient, program: ProgramKeys) -> None:
    partner = client.post(
        "/api/v1/partners", json={"email": "p@example.com", "name": "P", "status": "pending"}, headers=program.headers
    ).json()
    assert partner["status"] == "pending"
    approved = client.post(f"/api/v1/partners/{partner['id']}/approve", headers=program.headers)
    assert approved.json()["status"] == "approved"
    assert client.post(f"/api/v1/partners/{partner['id']}/reject", headers=program.headers).status_code == 409
    assert client.post(f"/api/v1/partners/{partner['id']}/ban", headers=program.headers).json()["status"] == "banned"


def test_duplicate_partner_email_is_a_conflict(client: TestClient, program: ProgramKeys) -> None:
    body = {"email": "dup@example.com", "name": "Dup"}
    assert client.post("/api/v1/partners", json=body, headers=program.headers).status_code == 201
    second = client.post("/api/v1/partners", json=body, headers=program.headers)
    assert second.status_code == 409
    assert second.json()["error"] == "PartnerExists"


def test_partner_of_another_program_is_not_found(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    partner = client.post(
        "/api/v1/partners", json={"email": "x@example.com", "name": "X"}, headers=program.headers
    ).json()
    response = client.get(f"/api/v1/partners/{partner['id']}", headers=other_program.headers)
    assert response.status_code == 404
    assert response.json()["error"] == "PartnerNotFound"
    assert client.post(f"/api/v1/partners/{partner['id']}/ban", headers=other_program.headers).status_code == 404


def test_missing_or_wrong_api_key_is_401(client: TestClient, program: ProgramKeys) -> None:
    assert client.get("/api/v1/partners").status_code == 401
    wrong = client.get("/api/v1/partners", headers={"Authorization": "Bearer pl_sk_nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "Unauthorized"


def test_bad_partner_payloads_write_nothing(client: TestClient, program: ProgramKeys) -> None:
    for payload, status in [
        ({"email": "not-an-email", "name": "N"}, 422),
        ({"email": "a@example.com"}, 422),
        ({"email": "a@example.com", "name": "A", "status": "banned"}, 422),
        ({"email": 5, "name": "A"}, 422),
    ]:
        response = client.post("/api/v1/partners", json=payload, headers=program.headers)
        assert response.status_code == status, (payload, response.text)
        assert set(response.json()) == {"error", "detail"}
    malformed = client.post(
        "/api/v1/partners", content=b"{nope", headers={**program.headers, "content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"] == "MalformedJSON"
    assert client.get("/api/v1/partners", headers=program.headers).json() == {"data": [], "next_cursor": None}


def test_partner_list_pages_with_a_cursor(client: TestClient, program: ProgramKeys) -> None:
    ids = [
        client.post(
            "/api/v1/partners", json={"email": f"p{i}@example.com", "name": f"P{i}"}, headers=program.headers
        ).json()["id"]
        for i in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/partners", params=params, headers=program.headers).json()
        seen += [partner["id"] for partner in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 5
    assert client.get("/api/v1/partners", params={"limit": 101}, headers=program.headers).status_code == 422
