from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys


def _partner(client: TestClient, program: ProgramKeys, status: str = "approved") -> str:
    response = client.post(
        "/api/v1/partners",
        json={"email": f"{status}@example.com", "name": "Jo", "status": status},
        headers=program.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_create_link_with_a_chosen_key(client: TestClient, program: ProgramKeys) -> None:
    partner_id = _partner(client, program)
    response = client.post(
        "/api/v1/links",
        json={"partner_id": partner_id, "key": "spring-sale", "destination_url": "https://acme.test/pricing?plan=pro"},
        headers=program.headers,
    )
    assert response.status_code == 201, response.text
    link = response.json()
    assert link["key"] == "spring-sale"
    assert link["short_url"] == "http://testserver/go/spring-sale"
    assert link["clicks"] == 0
    assert client.get(f"/api/v1/links/{link['id']}", headers=program.headers).json() == link


def test_generated_keys_are_unique(client: TestClient, program: ProgramKeys) -> None:
    partner_id = _partner(client, program)
    keys = {
        client.post(
            "/api/v1/links",
            json={"partner_id": partner_id, "destination_url": "https://acme.test/"},
            headers=program.headers,
        ).json()["key"]
        for _ in range(20)
    }
    assert len(keys) == 20


def test_a_taken_key_is_a_conflict(client: TestClient, program: ProgramKeys) -> None:
    partner_id = _partner(client, program)
    body = {"partner_id": partner_id, "key": "mine", "destination_url": "https://acme.test/"}
    assert client.post("/api/v1/links", json=body, headers=program.headers).status_code == 201
    again = client.post("/api/v1/links", json=body, headers=program.headers)
    assert again.status_code == 409
    assert again.json()["error"] == "LinkKeyTaken"


@pytest.mark.parametrize(
    "destination",
    [
        "https://acme.test.evil.com/",
        "https://acme.test@evil.com/",
        "//evil.com",
        "javascript:alert(1)",
        "https://аcme.test/",
        "not a url",
    ],
)
def test_destinations_off_the_allowed_domains_are_refused_and_nothing_is_written(
    client: TestClient, program: ProgramKeys, destination: str
) -> None:
    partner_id = _partner(client, program)
    response = client.post(
        "/api/v1/links", json={"partner_id": partner_id, "destination_url": destination}, headers=program.headers
    )
    assert response.status_code == 422
    assert response.json()["error"] == "InvalidInput"
    assert client.get("/api/v1/links", headers=program.headers).json()["data"] == []


def test_links_need_an_approved_partner_of_this_program(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    pending = _partner(client, program, status="pending")
    response = client.post(
        "/api/v1/links", json={"partner_id": pending, "destination_url": "https://acme.test/"}, headers=program.headers
    )
    assert response.status_code == 409
    assert response.json()["error"] == "PartnerNotApproved"
    foreign = _partner(client, other_program)
    response = client.post(
        "/api/v1/links", json={"partner_id": foreign, "destination_url": "https://acme.test/"}, headers=program.headers
    )
    assert response.status_code == 404


def test_update_and_delete_a_link(client: TestClient, program: ProgramKeys, other_program: ProgramKeys) -> None:
    partner_id = _partner(client, program)
    link = client.post(
        "/api/v1/links",
        json={"partner_id": partner_id, "destination_url": "https://acme.test/a"},
        headers=program.headers,
    ).json()
    url = f"/api/v1/links/{link['id']}"
    assert client.patch(url, json={"destination_url": "https://evil.com/"}, headers=program.headers).status_code == 422
    updated = client.patch(url, json={"destination_url": "https://shop.acme.test/b"}, headers=program.headers)
    assert updated.json()["destination_url"] == "https://shop.acme.test/b"
    assert client.get(url, headers=other_program.headers).status_code == 404
    assert client.delete(url, headers=other_program.headers).status_code == 404
    assert client.delete(url, headers=program.headers).status_code == 204
    assert client.get(url, headers=program.headers).status_code == 404
    assert client.get("/api/v1/links", headers=program.headers).json()["data"] == []


def test_links_are_listed_per_partner_with_a_cursor(client: TestClient, program: ProgramKeys) -> None:
    partner_id = _partner(client, program)
    for _ in range(3):
        client.post(
            "/api/v1/links",
            json={"partner_id": partner_id, "destination_url": "https://acme.test/"},
            headers=program.headers,
        )
    first = client.get("/api/v1/links", params={"limit": 2, "partner_id": partner_id}, headers=program.headers).json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    rest = client.get(
        "/api/v1/links", params={"limit": 2, "cursor": first["next_cursor"]}, headers=program.headers
    ).json()
    assert len(rest["data"]) == 1 and rest["next_cursor"] is None
