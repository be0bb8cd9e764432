"""Groups (Bronze / Silver / Gold) through the API, and the plan a partner earns by."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.models import Group
from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys


def rate_plan(client: TestClient, program: ProgramKeys, name: str, rate_bps: int, default: bool = False) -> str:
    rules = [{"event": "sale", "reward": {"type": "percent", "rate_bps": rate_bps}, "duration": {"kind": "lifetime"}}]
    return make_plan(client, program, rules=rules, name=name, default=default)


def create_group(client: TestClient, program: ProgramKeys, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/groups", json=body, headers=program.headers)
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()
    return group


def group_count(engine: Engine) -> int:
    with transaction(engine, writes=False) as session:
        return int(session.execute(select(func.count()).select_from(Group)).scalar_one())


def test_groups_are_created_listed_and_changed(client: TestClient, program: ProgramKeys) -> None:
    silver_plan = rate_plan(client, program, "Silver plan", 2500)
    gold_plan = rate_plan(client, program, "Gold plan", 3000)
    bronze = create_group(client, program, name="Bronze")
    gold = create_group(client, program, name="Gold", plan_id=gold_plan)
    assert (bronze["plan_id"], gold["plan_id"], gold["partners"]) == (None, gold_plan, 0)
    make_partner(client, program, group_id=gold["id"])
    listed = client.get("/api/v1/groups", headers=program.headers).json()
    assert {row["name"]: row["partners"] for row in listed["data"]} == {"Bronze": 0, "Gold": 1}
    patched = client.patch(
        f"/api/v1/groups/{bronze['id']}", json={"name": "Silver", "plan_id": silver_plan}, headers=program.headers
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["plan_id"]) == ("Silver", silver_plan)
    assert client.get(f"/api/v1/groups/{bronze['id']}", headers=program.headers).json()["name"] == "Silver"


BAD_GROUPS = [
    pytest.param({"name": ""}, 422, "ValidationError", id="a blank name"),
    pytest.param({}, 422, "ValidationError", id="no name"),
    pytest.param({"name": "Gold", "plan_id": "nope"}, 404, "PlanNotFound", id="an unknown plan"),
    pytest.param({"name": "gold"}, 409, "GroupNameTaken", id="a name taken (whatever the case)"),
    pytest.param(
        {"name": "X", "colour": "gold"}, 422, "ValidationError", id="an unknown field"
    ),  # perks is a tier field now
]


@pytest.mark.parametrize(("body", "status", "error"), BAD_GROUPS)
def test_bad_group_is_refused_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys, body: dict[str, Any], status: int, error: str
) -> None:
    create_group(client, program, name="Gold")
    response = client.post("/api/v1/groups", json=body, headers=program.headers)
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    assert group_count(engine) == 1


def test_groups_of_another_program_are_invisible(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    group = create_group(client, program, name="Gold")
    other_plan = rate_plan(client, other_program, "Theirs", 1000)
    assert client.get(f"/api/v1/groups/{group['id']}", headers=other_program.headers).status_code == 404
    assert (
        client.patch(f"/api/v1/groups/{group['id']}", json={"name": "X"}, headers=other_program.headers).status_code
        == 404
    )
    assert client.get("/api/v1/groups", headers=other_program.headers).json()["data"] == []
    response = client.patch(f"/api/v1/groups/{group['id']}", json={"plan_id": other_plan}, headers=program.headers)
    assert (response.status_code, response.json()["error"]) == (404, "PlanNotFound")
    partner = make_partner(client, other_program)
    response = client.patch(
        f"/api/v1/partners/{partner['id']}", json={"group_id": group["id"]}, headers=other_program.headers
    )
    assert response.status_code == 404
    assert client.get(f"/api/v1/partners/{partner['id']}", headers=other_program.headers).json()["group_id"] is None


def earnings_of_a_sale(client: TestClient, program: ProgramKeys, code: str, invoice: str) -> int:
    client.post(
        "/api/v1/track/lead", json={"customer_external_id": invoice, "referral_code": code}, headers=program.headers
    )
    response = client.post(
        "/api/v1/track/sale",
        json={"customer_external_id": invoice, "amount": 10_000, "currency": "usd", "invoice_id": invoice},
        headers=program.headers,
    )
    assert response.status_code == 200, response.text
    [commission] = response.json()["commissions"]
    return int(commission["earnings_amount"])


def test_own_plan_beats_the_groups_which_beats_the_programs_default(client: TestClient, program: ProgramKeys) -> None:
    rate_plan(client, program, "Default", 1000, default=True)
    gold_plan = rate_plan(client, program, "Gold plan", 3000)
    own_plan = rate_plan(client, program, "Own", 4000)
    gold = create_group(client, program, name="Gold", plan_id=gold_plan)
    make_partner(client, program, referral_code="PLAIN")
    grouped = make_partner(client, program, referral_code="GOLDIE")
    both = make_partner(client, program, referral_code="OWNER", plan_id=own_plan)
    for partner in (grouped, both):
        response = client.patch(
            f"/api/v1/partners/{partner['id']}", json={"group_id": gold["id"]}, headers=program.headers
        )
        assert response.status_code == 200 and response.json()["group_id"] == gold["id"], response.text
    assert earnings_of_a_sale(client, program, "PLAIN", "in_1") == 1000
    assert earnings_of_a_sale(client, program, "GOLDIE", "in_2") == 3000
    assert earnings_of_a_sale(client, program, "OWNER", "in_3") == 4000
    # leaving the group: the default again
    client.patch(f"/api/v1/partners/{grouped['id']}", json={"group_id": None}, headers=program.headers)
    assert earnings_of_a_sale(client, program, "GOLDIE", "in_4") == 1000
