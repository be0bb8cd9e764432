from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.models import Plan
from tests.commission.factories import STANDARD_RULES, make_plan
from tests.conftest import ProgramKeys


def plan_count(engine: Engine) -> int:
    with transaction(engine, writes=False) as session:
        return session.execute(select(func.count()).select_from(Plan)).scalar_one()


def test_create_plan_answers_it_with_an_id_and_reads_back(client: TestClient, program: ProgramKeys) -> None:
    response = client.post("/api/v1/plans", json={"name": "Standard", "rules": STANDARD_RULES}, headers=program.headers)
    assert response.status_code == 201, response.text
    plan = response.json()
    assert plan["name"] == "Standard"
    assert plan["is_default"] is False
    assert [rule["event"] for rule in plan["rules"]] == ["sale", "lead"]
    assert plan["rules"][0]["duration"] == {"kind": "months", "months": 12}
    assert client.get(f"/api/v1/plans/{plan['id']}", headers=program.headers).json() == plan


def test_sale_rule_without_duration_is_one_time(client: TestClient, program: ProgramKeys) -> None:
    rules = [{"event": "sale", "reward": {"type": "percent", "rate_bps": 1000}}]
    plan = client.post("/api/v1/plans", json={"name": "Once", "rules": rules}, headers=program.headers).json()
    assert plan["rules"][0]["duration"] == {"kind": "one_time"}


def test_default_plan_is_set_on_the_program(client: TestClient, program: ProgramKeys) -> None:
    plan_id = make_plan(client, program)
    assert client.get("/api/v1/program", headers=program.headers).json()["default_plan_id"] == plan_id
    assert client.get(f"/api/v1/plans/{plan_id}", headers=program.headers).json()["is_default"] is True


def test_patch_plan_changes_name_and_rules(client: TestClient, program: ProgramKeys) -> None:
    plan_id = make_plan(client, program, default=False)
    new_rules = [{"event": "lead", "reward": {"type": "flat", "amount": 700}}]
    response = client.patch(
        f"/api/v1/plans/{plan_id}", json={"name": "Leads only", "rules": new_rules}, headers=program.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Leads only"
    assert response.json()["rules"] == [{"event": "lead", "reward": {"type": "flat", "amount": 700}}]


def test_plan_list_pages_with_a_cursor(client: TestClient, program: ProgramKeys) -> None:
    ids = {make_plan(client, program, name=f"Plan {i}", default=False) for i in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/plans", params=params, headers=program.headers).json()
        seen += [plan["id"] for plan in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5
    assert set(seen) == ids


BAD_PLANS = [
    pytest.param({"name": "No rules", "rules": []}, id="no rules"),
    pytest.param({"rules": STANDARD_RULES}, id="no name"),
    pytest.param({"name": " ", "rules": STANDARD_RULES}, id="a blank name"),
    pytest.param(
        {"name": "P", "rules": [{"event": "lead", "reward": {"type": "percent", "rate_bps": 100}}]},
        id="percent on a lead",
    ),
    pytest.param(
        {"name": "P", "rules": [{"event": "sale", "reward": {"type": "percent", "rate_bps": 20.5}}]}, id="a float rate"
    ),
    pytest.param(
        {"name": "P", "rules": [{"event": "sale", "reward": {"type": "flat", "amount": "500"}}]}, id="a string amount"
    ),
    pytest.param(
        {"name": "P", "rules": [{"event": "sale", "reward": {"type": "flat", "amount": 0}}]}, id="a zero amount"
    ),
    pytest.param(
        {
            "name": "P",
            "rules": [{"event": "lead", "reward": {"type": "flat", "amount": 5}, "duration": {"kind": "lifetime"}}],
        },
        id="a duration on a lead rule",
    ),
    pytest.param(
        {
            "name": "P",
            "rules": [
                {
                    "event": "sale",
                    "reward": {"type": "percent", "rate_bps": 5},
                    "duration": {"kind": "months", "months": 121},
                }
            ],
        },
        id="121 months",
    ),
    pytest.param({"name": "P", "rules": STANDARD_RULES, "color": "red"}, id="an unknown field"),
    pytest.param({"name": "P", "rules": "all"}, id="rules that are not a list"),
]


@pytest.mark.parametrize("payload", BAD_PLANS)
def test_bad_plan_is_422_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys, payload: dict[str, Any]
) -> None:
    response = client.post("/api/v1/plans", json=payload, headers=program.headers)
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"error", "detail"}
    assert response.json()["error"] == "ValidationError"
    assert plan_count(engine) == 0


def test_malformed_plan_json_is_400_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    response = client.post(
        "/api/v1/plans",
        content=b'{"name": "P", "rules": [',
        headers={**program.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "MalformedJSON"
    assert plan_count(engine) == 0


def test_bad_patch_leaves_the_plan_unchanged(client: TestClient, program: ProgramKeys) -> None:
    plan_id = make_plan(client, program, default=False)
    before = client.get(f"/api/v1/plans/{plan_id}", headers=program.headers).json()
    response = client.patch(f"/api/v1/plans/{plan_id}", json={"name": "X", "rules": []}, headers=program.headers)
    assert response.status_code == 422
    assert client.get(f"/api/v1/plans/{plan_id}", headers=program.headers).json() == before


def test_plan_of_another_program_is_not_found(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    plan_id = make_plan(client, program, default=False)
    for response in (
        client.get(f"/api/v1/plans/{plan_id}", headers=other_program.headers),
        client.patch(f"/api/v1/plans/{plan_id}", json={"name": "Mine"}, headers=other_program.headers),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "PlanNotFound"
    assert client.get("/api/v1/plans", headers=other_program.headers).json() == {"data": [], "next_cursor": None}
    assert client.get(f"/api/v1/plans/{plan_id}", headers=program.headers).json()["name"] == "Standard"


def test_unknown_plan_is_not_found(client: TestClient, program: ProgramKeys) -> None:
    response = client.get("/api/v1/plans/01jxxxxxxxxxxxxxxxxxxxxxxx", headers=program.headers)
    assert response.status_code == 404
    assert response.json()["error"] == "PlanNotFound"


def test_plans_need_the_api_key(client: TestClient, program: ProgramKeys) -> None:
    assert client.get("/api/v1/plans").status_code == 401
    assert client.post("/api/v1/plans", json={"name": "P", "rules": STANDARD_RULES}).status_code == 401
