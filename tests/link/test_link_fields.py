"""Link API: utm, expires_at, fallback_url and unique_clicks; program link_domains."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys
from tests.tracking.helpers import make_partner


def _create(client: TestClient, program: ProgramKeys, **fields: Any) -> Any:
    body = {"partner_id": make_partner(client, program), "destination_url": "https://acme.test/p", **fields}
    return client.post("/api/v1/links", json=body, headers=program.headers)


def test_utm_expiry_and_fallback_are_stored_and_answered(client: TestClient, program: ProgramKeys) -> None:
    response = _create(
        client,
        program,
        utm={"source": "partner", "campaign": "spring sale"},
        expires_at="2030-01-01T12:00:00+02:00",
        fallback_url="https://acme.test/over",
    )
    assert response.status_code == 201, response.text
    link = response.json()
    assert link["utm"] == {"source": "partner", "medium": None, "campaign": "spring sale", "term": None,
                           "content": None}  # fmt: skip
    assert link["expires_at"].startswith("2030-01-01T10:00:00")  # stored and answered in UTC
    assert link["fallback_url"] == "https://acme.test/over"
    assert link["unique_clicks"] == 0
    got = client.get(f"/api/v1/links/{link['id']}", headers=program.headers).json()
    assert {name: got[name] for name in ("utm", "fallback_url", "unique_clicks")} == {
        name: link[name] for name in ("utm", "fallback_url", "unique_clicks")
    }
    listed = client.get("/api/v1/links", headers=program.headers).json()["data"]
    assert listed[0]["utm"]["source"] == "partner"


def test_patch_changes_only_what_it_names_and_null_clears(client: TestClient, program: ProgramKeys) -> None:
    link = _create(client, program, utm={"source": "a"}, fallback_url="https://acme.test/f").json()
    patched = client.patch(
        f"/api/v1/links/{link['id']}", json={"expires_at": "2031-05-01T00:00:00Z"}, headers=program.headers
    ).json()
    assert patched["utm"]["source"] == "a"
    assert patched["destination_url"] == "https://acme.test/p"
    assert patched["expires_at"].startswith("2031-05-01T00:00:00")
    cleared = client.patch(
        f"/api/v1/links/{link['id']}", json={"utm": None, "fallback_url": None, "expires_at": None},
        headers=program.headers,
    ).json()  # fmt: skip
    assert (cleared["utm"], cleared["fallback_url"], cleared["expires_at"]) == (None, None, None)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"utm": {"source": "x" * 201}}, id="a utm value over 200 characters"),
        pytest.param({"utm": {"sauce": "x"}}, id="an unknown utm field"),
        pytest.param({"expires_at": "2030-01-01T12:00:00"}, id="an expiry without a time zone"),
        pytest.param({"expires_at": "soon"}, id="an expiry that is no date"),
        pytest.param({"fallback_url": "https://evil.test/"}, id="a fallback off the allowed domains"),
        pytest.param({"fallback_url": "javascript:alert(1)"}, id="a fallback that is no http url"),
    ],
)
def test_bad_link_fields_are_refused_with_422(client: TestClient, program: ProgramKeys, fields: dict[str, Any]) -> None:
    response = _create(client, program, **fields)
    assert response.status_code == 422, response.text
    assert client.get("/api/v1/links", headers=program.headers).json()["data"] == []


def test_patch_refuses_a_null_destination(client: TestClient, program: ProgramKeys) -> None:
    link = _create(client, program).json()
    response = client.patch(f"/api/v1/links/{link['id']}", json={"destination_url": None}, headers=program.headers)
    assert response.status_code == 422


def test_link_domains_are_normalized_and_answered(client: TestClient, program: ProgramKeys) -> None:
    response = client.patch(
        "/api/v1/program", json={"link_domains": ["Go.Acme.TEST", "go.acme.test"]}, headers=program.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["link_domains"] == ["go.acme.test"]
    assert client.get("/api/v1/program", headers=program.headers).json()["link_domains"] == ["go.acme.test"]


@pytest.mark.parametrize(
    "domains",
    [pytest.param(["not a host"], id="a value that is no host"), pytest.param(["x.test:80"], id="a host with a port")],
)
def test_bad_link_domains_are_refused(client: TestClient, program: ProgramKeys, domains: list[str]) -> None:
    response = client.patch("/api/v1/program", json={"link_domains": domains}, headers=program.headers)
    assert response.status_code == 422


def test_a_link_domain_of_another_program_is_a_conflict(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    taken = client.patch("/api/v1/program", json={"link_domains": ["go.shared.test"]}, headers=program.headers)
    assert taken.status_code == 200
    response = client.patch("/api/v1/program", json={"link_domains": ["go.shared.test"]}, headers=other_program.headers)
    assert response.status_code == 409
    assert response.json()["error"] == "LinkDomainTaken"
