"""GET /api/v1/commissions (+ /{id}) and POST /{id}/approve | hold | reject."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.commission.factories import make_partner, make_plan, set_commission_status
from tests.conftest import ProgramKeys


def sales_of(client: TestClient, program: ProgramKeys, code: str, invoices: list[str]) -> list[dict[str, Any]]:
    """One customer of the partner with `code` buying once per invoice (lifetime plan): their commissions."""
    commissions = []
    customer = f"cus_{code}"
    assert (
        client.post(
            "/api/v1/track/lead",
            json={"customer_external_id": customer, "referral_code": code},
            headers=program.headers,
        ).status_code
        == 200
    )
    for invoice in invoices:
        response = client.post(
            "/api/v1/track/sale",
            json={"customer_external_id": customer, "amount": 10000, "currency": "usd", "invoice_id": invoice},
            headers=program.headers,
        )
        commissions += response.json()["commissions"]
    return commissions


LIFETIME_PLAN = [
    {"event": "sale", "reward": {"type": "percent", "rate_bps": 1000}, "duration": {"kind": "lifetime"}},
]


@pytest.fixture
def two_partners(client: TestClient, program: ProgramKeys) -> dict[str, dict[str, Any]]:
    make_plan(client, program, rules=LIFETIME_PLAN)
    return {
        "jane": make_partner(client, program, referral_code="JANE10"),
        "joe": make_partner(client, program, referral_code="JOE100"),
    }


def test_commissions_are_listed_and_filtered_by_partner_and_status(
    client: TestClient, program: ProgramKeys, two_partners: dict[str, dict[str, Any]]
) -> None:
    janes = sales_of(client, program, "JANE10", ["a1", "a2", "a3"])
    joes = sales_of(client, program, "JOE100", ["b1"])
    client.post(f"/api/v1/commissions/{janes[0]['id']}/approve", headers=program.headers)

    def ids(**params: Any) -> set[str]:
        response = client.get("/api/v1/commissions", params=params, headers=program.headers)
        assert response.status_code == 200, response.text
        return {row["id"] for row in response.json()["data"]}

    assert ids() == {c["id"] for c in janes + joes}
    assert ids(partner_id=two_partners["jane"]["id"]) == {c["id"] for c in janes}
    assert ids(partner_id=two_partners["joe"]["id"], status="pending") == {joes[0]["id"]}
    assert ids(status="approved") == {janes[0]["id"]}
    assert ids(partner_id="01jnobodyxxxxxxxxxxxxxxxxx") == set()


def test_commission_list_pages_with_a_cursor(
    client: TestClient, program: ProgramKeys, two_partners: dict[str, dict[str, Any]]
) -> None:
    created = sales_of(client, program, "JANE10", [f"inv_{i}" for i in range(5)])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/commissions", params=params, headers=program.headers).json()
        seen += [row["id"] for row in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(c["id"] for c in created)
    assert len(seen) == 5


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"status": "owed"}, id="an unknown status"),
        pytest.param({"kind": "bounty"}, id="an unknown kind"),
        pytest.param({"limit": 0}, id="a zero limit"),
        pytest.param({"limit": 101}, id="a limit above 100"),
        pytest.param({"limit": "many"}, id="a limit that is not a number"),
    ],
)
def test_bad_list_parameters_are_422(client: TestClient, program: ProgramKeys, params: dict[str, Any]) -> None:
    response = client.get("/api/v1/commissions", params=params, headers=program.headers)
    assert response.status_code == 422
    assert set(response.json()) == {"error", "detail"}


# (setup status, action) -> the answer's status code and the commission's status after
ACTIONS = [
    pytest.param(None, "approve", 200, "approved", id="approve a pending commission"),
    pytest.param(None, "hold", 200, "on_hold", id="hold a pending commission"),
    pytest.param(None, "reject", 200, "rejected", id="reject a pending commission"),
    pytest.param("on_hold", "approve", 200, "approved", id="approve a held commission"),
    pytest.param("approved", "hold", 200, "on_hold", id="hold an approved commission"),
    pytest.param("approved", "reject", 409, "approved", id="rejecting an approved commission is a conflict"),
    pytest.param("paid", "hold", 409, "paid", id="holding a paid commission is a conflict"),
    pytest.param("rejected", "approve", 409, "rejected", id="approving a rejected commission is a conflict"),
]


@pytest.mark.parametrize(("setup", "action", "code", "after"), ACTIONS)
def test_commission_status_actions(
    client: TestClient,
    engine: Engine,
    program: ProgramKeys,
    two_partners: dict[str, dict[str, Any]],
    setup: str | None,
    action: str,
    code: int,
    after: str,
) -> None:
    [commission] = sales_of(client, program, "JANE10", ["a1"])
    if setup is not None:
        set_commission_status(engine, commission["id"], setup)
    response = client.post(f"/api/v1/commissions/{commission['id']}/{action}", headers=program.headers)
    assert response.status_code == code, response.text
    if code == 409:
        assert response.json()["error"] == "StatusChangeNotAllowed"
    else:
        assert response.json()["status_changed_at"] is not None
    assert client.get(f"/api/v1/commissions/{commission['id']}", headers=program.headers).json()["status"] == after


def test_a_partial_reversal_follows_its_commission(
    client: TestClient, program: ProgramKeys, two_partners: dict[str, dict[str, Any]]
) -> None:
    [commission] = sales_of(client, program, "JANE10", ["a1"])
    [reversal] = client.post(
        "/api/v1/track/refund", json={"invoice_id": "a1", "amount": 5000}, headers=program.headers
    ).json()["commissions"]
    assert reversal["status"] == "pending"
    client.post(f"/api/v1/commissions/{commission['id']}/approve", headers=program.headers)
    assert client.get(f"/api/v1/commissions/{reversal['id']}", headers=program.headers).json()["status"] == "approved"
    direct = client.post(f"/api/v1/commissions/{reversal['id']}/hold", headers=program.headers)
    assert direct.status_code == 409
    assert direct.json()["error"] == "ReversalFollowsItsCommission"


def test_commission_of_another_program_is_not_found(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys, two_partners: dict[str, dict[str, Any]]
) -> None:
    [commission] = sales_of(client, program, "JANE10", ["a1"])
    for response in (
        client.get(f"/api/v1/commissions/{commission['id']}", headers=other_program.headers),
        client.post(f"/api/v1/commissions/{commission['id']}/approve", headers=other_program.headers),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "CommissionNotFound"
    assert client.get("/api/v1/commissions", headers=other_program.headers).json() == {"data": [], "next_cursor": None}
    assert client.get(f"/api/v1/commissions/{commission['id']}", headers=program.headers).json()["status"] == "pending"


def test_commissions_need_the_api_key(client: TestClient, program: ProgramKeys) -> None:
    assert client.get("/api/v1/commissions").status_code == 401
    assert client.post("/api/v1/commissions/x/approve").status_code == 401
