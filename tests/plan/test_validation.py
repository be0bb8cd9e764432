"""A plan the engine could not evaluate is refused, with a message naming the rule; nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.models import Plan
from partnerloop.plan.schemas import PlanIn
from partnerloop.plan.validation import plan_problems
from tests.commission.factories import make_plan
from tests.conftest import ProgramKeys

SALE = {"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}}


def rule(**parts: Any) -> dict[str, Any]:
    return {**SALE, **parts}


def tiers(*mins: int, metric: str = "sales_count") -> dict[str, Any]:
    levels = [
        {"min": value, "reward": {"type": "percent", "rate_bps": 1000 + index}} for index, value in enumerate(mins)
    ]
    return {"metric": metric, "period": "month", "levels": levels}


PROBLEMS = [
    pytest.param([SALE, rule(conditions=[{"field": "plan.tier", "op": "eq", "value": "x"}])],
                 "rules[1].conditions[0]: unknown field 'plan.tier'", id="an unknown field names the rule and condition"),
    pytest.param([SALE, SALE, rule(conditions=[{"field": "product_id", "op": "eq", "value": "a"},
                                               {"field": "sale.amount", "op": "gt", "value": "100"}])],
                 "rules[2].conditions[1]: operator 'gt' needs a number", id="an operator that does not fit the value"),
    pytest.param([rule(tiers=tiers(0, 10, 10))],
                 "rules[0].tiers.levels[2]: min 10 overlaps levels[1].min 10 (tier minimums must increase)",
                 id="two tiers with the same minimum overlap"),
    pytest.param([rule(tiers=tiers(0, 20, 10))], "rules[0].tiers.levels[2]: min 10 overlaps levels[1].min 20",
                 id="tier minimums out of order"),
    pytest.param([{"event": "lead", "reward": {"type": "flat", "amount": 5},
                   "tiers": {"metric": "leads_count", "period": "month",
                             "levels": [{"min": 0, "reward": {"type": "percent", "rate_bps": 100}}]}}],
                 "rules[0].tiers.levels[0].reward: a lead rule pays a flat amount", id="a percent tier on a lead rule"),
    pytest.param([rule(caps={})], "rules[0].caps: give per_customer_amount or per_period_amount", id="an empty cap"),
    pytest.param([rule(caps={"per_day_count": 100})],
                 "rules[0].caps: per_day_count and per_day_amount apply to click rules only",
                 id="a daily click cap on a sale rule"),
    pytest.param([rule(caps={"per_period_amount": 100})], "rules[0].caps: per_period_amount needs a period",
                 id="a period cap without its period"),
    pytest.param([rule(active={"from": "2026-12-01T00:00:00Z", "until": "2026-11-27T00:00:00Z"})],
                 "rules[0].active: from 2026-12-01T00:00:00+00:00 is not before until", id="a window that ends first"),
    pytest.param([rule(active={})], "rules[0].active: give from, until or both", id="a window without ends"),
]  # fmt: skip


@pytest.mark.parametrize(("rules", "problem"), PROBLEMS)
def test_plan_the_engine_cannot_evaluate(rules: list[dict[str, Any]], problem: str) -> None:
    body = PlanIn.model_validate({"name": "P", "rules": rules})
    problems = plan_problems(body.rules, body.bonuses)
    assert any(found.startswith(problem) for found in problems), problems


def test_a_bonus_name_used_twice_is_refused() -> None:
    bonus = {"name": "Ten", "metric": "sales_count", "period": "month", "threshold": 10, "amount": 100}
    body = PlanIn.model_validate({"name": "P", "rules": [SALE], "bonuses": [bonus, {**bonus, "name": "ten"}]})
    assert plan_problems(body.rules, body.bonuses) == ["bonuses[1]: name 'ten' is used by bonuses[0] already"]


def test_a_plan_in_full_is_accepted_as_api_md_writes_it() -> None:
    body = PlanIn.model_validate(
        {
            "name": "Full",
            "rules": [
                {
                    "event": "sale",
                    "reward": {"type": "percent", "rate_bps": 2000},
                    "duration": {"kind": "lifetime"},
                    "conditions": [
                        {"field": "product_id", "op": "in", "value": ["team", "enterprise"]},
                        {"field": "customer.country", "op": "eq", "value": "de"},
                    ],
                    "tiers": {
                        "metric": "sales_count",
                        "period": "month",
                        "levels": [
                            {"min": 0, "reward": {"type": "percent", "rate_bps": 2000}},
                            {"min": 10, "reward": {"type": "percent", "rate_bps": 3000}},
                        ],
                    },
                    "caps": {"per_customer_amount": 50000},
                    "active": {"from": "2026-11-27T00:00:00Z", "until": "2026-12-01T00:00:00Z"},
                }
            ],
            "bonuses": [{"name": "Ten", "metric": "sales_count", "period": "month", "threshold": 10, "amount": 10000}],
        }
    )
    assert plan_problems(body.rules, body.bonuses) == []
    assert body.rules[0].stored()["active"] == {"from": "2026-11-27T00:00:00Z", "until": "2026-12-01T00:00:00Z"}


# ---------------------------------------------------------------- through the API


def plan_count(engine: Engine) -> int:
    with transaction(engine, writes=False) as session:
        return int(session.execute(select(func.count()).select_from(Plan)).scalar_one())


API_REFUSALS = [
    pytest.param({"rules": [SALE, rule(conditions=[{"field": "sale.amount", "op": "gt", "value": "x"}])]}, 422,
                 "InvalidPlan", "rules[1].conditions[0]: operator 'gt' needs a number.", id="a condition's operator"),
    pytest.param({"rules": [rule(tiers=tiers(0, 5, 5))]}, 422, "InvalidPlan",
                 "rules[0].tiers.levels[2]: min 5 overlaps levels[1].min 5 (tier minimums must increase).",
                 id="overlapping tiers"),
    pytest.param({"rules": [rule(caps={"per_customer_amount": -1})]}, 422, "ValidationError",
                 "rules.0.caps.per_customer_amount: must be more than 0.", id="a negative cap"),
    pytest.param({"rules": [{"event": "sale", "reward": {"type": "flat", "amount": -100}}]}, 422, "ValidationError",
                 "rules.0.reward.flat.amount: must be more than 0.", id="a negative reward"),
    pytest.param({"rules": [SALE], "bonuses": [{"name": "B", "metric": "sales_count", "period": "month",
                                                "threshold": 5, "amount": -1}]}, 422, "ValidationError",
                 "bonuses.0.amount: must be more than 0.", id="a negative bonus"),
    pytest.param({"rules": [rule(conditions=[{"field": "product_id", "op": "like", "value": "a"}])]}, 422,
                 "ValidationError", None, id="an unknown operator"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "status", "error", "detail"), API_REFUSALS)
def test_a_plan_that_cannot_be_evaluated_is_refused_and_not_written(
    client: TestClient,
    engine: Engine,
    program: ProgramKeys,
    body: dict[str, Any],
    status: int,
    error: str,
    detail: str | None,
) -> None:
    response = client.post("/api/v1/plans", json={"name": "P", **body}, headers=program.headers)
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    if detail is not None:
        assert response.json()["detail"] == detail
    assert plan_count(engine) == 0


def test_a_patch_that_breaks_the_plan_changes_nothing(client: TestClient, program: ProgramKeys) -> None:
    plan_id = make_plan(client, program, default=False)
    before = client.get(f"/api/v1/plans/{plan_id}", headers=program.headers).json()
    broken = {"rules": [rule(tiers=tiers(3, 1))]}
    response = client.patch(f"/api/v1/plans/{plan_id}", json=broken, headers=program.headers)
    assert (response.status_code, response.json()["error"]) == (422, "InvalidPlan")
    assert client.get(f"/api/v1/plans/{plan_id}", headers=program.headers).json() == before


def test_bonuses_are_stored_and_answered(client: TestClient, program: ProgramKeys) -> None:
    bonus = {"name": "Ten", "metric": "sales_count", "period": "month", "threshold": 10, "amount": 10_000}
    created = client.post(
        "/api/v1/plans", json={"name": "B", "rules": [SALE], "bonuses": [bonus]}, headers=program.headers
    ).json()
    assert created["bonuses"] == [bonus]
    patched = client.patch(f"/api/v1/plans/{created['id']}", json={"bonuses": []}, headers=program.headers).json()
    assert patched["bonuses"] == [] and patched["rules"] == created["rules"]
