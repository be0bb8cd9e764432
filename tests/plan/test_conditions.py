"""Rule conditions as tables: every operator, every field, missing values, and which conditions a
plan may not hold (each refusal names its rule)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from partnerloop.plan.conditions import Subject, condition_problem, holds
from partnerloop.plan.rules import EventFacts, NoEarnings, PlanTerms, compute_earnings
from partnerloop.plan.schemas import Rule

SUBJECT = Subject(
    product_id="team-annual",
    coupon_code="SPRING24",
    sale_amount=4900,
    sale_type="recurring",
    sale_currency="eur",
    customer_country="de",
    customer_metadata={"seats": 12, "plan": "growth", "beta": True, "tags": ["edu", "nonprofit"]},
    partner_group_id="grp_gold",
    partner_group_name="Gold",
    partner_country="fr",
)
EMPTY = Subject()

HOLDS = [
    # eq / neq
    pytest.param("product_id", "eq", "team-annual", True, id="eq holds for the same product"),
    pytest.param("product_id", "eq", "Team-Annual", False, id="eq on a product is exact about case"),
    pytest.param("product_id", "neq", "starter", True, id="neq holds for another product"),
    pytest.param("product_id", "neq", "team-annual", False, id="neq fails for the same product"),
    pytest.param("customer.country", "eq", "DE", True, id="country compares without regard to case"),
    pytest.param("sale.currency", "eq", "EUR", True, id="currency compares without regard to case"),
    pytest.param("sale.type", "eq", "recurring", True, id="a renewal is a recurring sale"),
    pytest.param("sale.type", "eq", "new", False, id="a renewal is not a new sale"),
    pytest.param("sale.amount", "eq", 4900, True, id="eq on an amount"),
    pytest.param("customer.metadata.beta", "eq", True, True, id="eq on a boolean in metadata"),
    pytest.param("customer.metadata.seats", "eq", True, False, id="a boolean never equals a number"),
    pytest.param("partner.group", "eq", "gold", True, id="the group matches by name without regard to case"),
    pytest.param("partner.group", "eq", "grp_gold", True, id="the group matches by id"),
    pytest.param("partner.group", "eq", "Silver", False, id="another group does not match"),
    # in / not_in
    pytest.param("product_id", "in", ["team-annual", "enterprise"], True, id="in holds when listed"),
    pytest.param("product_id", "in", ["starter"], False, id="in fails when not listed"),
    pytest.param("customer.country", "not_in", ["us", "ca"], True, id="not_in holds when not listed"),
    pytest.param("customer.country", "not_in", ["DE"], False, id="not_in fails when listed"),
    pytest.param("partner.group", "in", ["Silver", "Gold"], True, id="in on groups by name"),
    # numbers
    pytest.param("sale.amount", "gt", 4899, True, id="gt holds one above"),
    pytest.param("sale.amount", "gt", 4900, False, id="gt fails at the boundary"),
    pytest.param("sale.amount", "gte", 4900, True, id="gte holds at the boundary"),
    pytest.param("sale.amount", "gte", 4901, False, id="gte fails one below"),
    pytest.param("sale.amount", "lt", 4901, True, id="lt holds one below"),
    pytest.param("sale.amount", "lt", 4900, False, id="lt fails at the boundary"),
    pytest.param("sale.amount", "lte", 4900, True, id="lte holds at the boundary"),
    pytest.param("sale.amount", "lte", 4899, False, id="lte fails one above"),
    pytest.param("customer.metadata.seats", "gte", 10, True, id="numbers in metadata compare"),
    pytest.param("customer.metadata.plan", "gt", 10, False, id="text in metadata is never above a number"),
    # text
    pytest.param("coupon_code", "starts_with", "SPRING", True, id="starts_with holds for a prefix"),
    pytest.param("coupon_code", "starts_with", "spring", False, id="starts_with is exact about case"),
    pytest.param("product_id", "contains", "annual", True, id="contains holds for a part"),
    pytest.param("product_id", "contains", "monthly", False, id="contains fails for another text"),
    pytest.param("customer.metadata.tags", "contains", "edu", True, id="contains holds for a list member"),
    pytest.param("customer.metadata.tags", "contains", "ed", False, id="contains in a list wants a whole member"),
]


@pytest.mark.parametrize(("field", "op", "value", "expected"), HOLDS)
def test_condition(field: str, op: str, value: Any, expected: bool) -> None:
    assert holds(SUBJECT, field, op, value)[0] is expected


MISSING = [
    pytest.param("customer.country", "eq", "de", False, id="an unknown country equals nothing"),
    pytest.param("customer.country", "neq", "de", True, id="an unknown country differs from any"),
    pytest.param("customer.country", "in", ["de"], False, id="an unknown country is in no list"),
    pytest.param("customer.country", "not_in", ["de"], True, id="an unknown country is not in any list"),
    pytest.param("product_id", "contains", "team", False, id="no product contains nothing"),
    pytest.param("customer.metadata.seats", "gt", 0, False, id="a missing metadata key is not above zero"),
    pytest.param("partner.group", "eq", "Gold", False, id="a partner without a group is in none"),
]


@pytest.mark.parametrize(("field", "op", "value", "expected"), MISSING)
def test_condition_on_a_missing_value(field: str, op: str, value: Any, expected: bool) -> None:
    assert holds(EMPTY, field, op, value) == (expected, None)


PROBLEMS = [
    pytest.param("sale", "customer.age", "eq", 3, "unknown field 'customer.age'", id="an unknown field"),
    pytest.param("sale", "customer.metadata.", "eq", 3, "unknown field", id="a metadata field without a key"),
    pytest.param("sale", "sale.amount", "gt", "100", "operator 'gt' needs a number", id="gt with text"),
    pytest.param("sale", "sale.amount", "gte", 10.5, "operator 'gte' needs a number", id="gte with a float"),
    pytest.param("sale", "sale.amount", "lt", True, "operator 'lt' needs a number", id="lt with a boolean"),
    pytest.param("sale", "product_id", "lte", 3, "operator 'lte' does not apply to field 'product_id'",
                 id="a number operator on text"),
    pytest.param("sale", "sale.amount", "contains", "1", "operator 'contains' does not apply", id="contains on an amount"),
    pytest.param("sale", "product_id", "starts_with", 5, "operator 'starts_with' needs a text value",
                 id="starts_with with a number"),
    pytest.param("sale", "product_id", "in", "team", "operator 'in' needs a non-empty list", id="in without a list"),
    pytest.param("sale", "product_id", "not_in", [], "operator 'not_in' needs a non-empty list", id="an empty list"),
    pytest.param("sale", "customer.country", "in", ["de", "germany"], "value[1] needs a two-letter country code",
                 id="a list with a bad country"),
    pytest.param("sale", "sale.type", "eq", "renewal", "operator 'eq' needs 'new' or 'recurring'",
                 id="an unknown sale type"),
    pytest.param("sale", "sale.currency", "eq", "dollars", "operator 'eq' needs an ISO 4217 currency code",
                 id="an unknown currency"),
    pytest.param("lead", "sale.amount", "gt", 5, "field 'sale.amount' does not apply to a lead rule",
                 id="a sale field on a lead rule"),
    pytest.param("click", "customer.country", "eq", "de", "does not apply to a click rule",
                 id="a customer field on a click rule"),
]  # fmt: skip


@pytest.mark.parametrize(("event", "field", "op", "value", "problem"), PROBLEMS)
def test_condition_that_cannot_be_evaluated(event: str, field: str, op: str, value: Any, problem: str) -> None:
    found = condition_problem(event, field, op, value)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    ("event", "field", "op", "value"),
    [
        pytest.param("sale", "customer.metadata.seats", "gte", 10, id="a number in metadata"),
        pytest.param("sale", "customer.metadata.plan", "in", ["growth", "scale"], id="a list of text in metadata"),
        pytest.param("lead", "customer.country", "eq", "de", id="a customer country on a lead rule"),
        pytest.param("click", "partner.group", "in", ["Gold"], id="a group on a click rule"),
        pytest.param("sale", "sale.type", "neq", "new", id="renewals only"),
    ],
)
def test_condition_that_can_be_evaluated(event: str, field: str, op: str, value: Any) -> None:
    assert condition_problem(event, field, op, value) is None


# ---------------------------------------------------------------- the first matching rule decides

AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def sale_facts(**overrides: Any) -> EventFacts:
    values: dict[str, Any] = {"kind": "sale", "occurred_at": AT, "amount": 10_000, "currency": "usd",
                              "first_sale_at": AT, "is_first_sale": True}  # fmt: skip
    values.update(overrides)
    return EventFacts(**values)


PLAN = PlanTerms(
    id="plan_1",
    name="Segments",
    rules=tuple(
        Rule.model_validate(rule)
        for rule in [
            {"event": "sale", "name": "Enterprise EU", "reward": {"type": "percent", "rate_bps": 3000},
             "conditions": [{"field": "product_id", "op": "in", "value": ["team", "enterprise"]},
                            {"field": "customer.country", "op": "eq", "value": "de"}]},
            {"event": "sale", "reward": {"type": "percent", "rate_bps": 1000}},
        ]
    ),
)  # fmt: skip


def test_conditions_all_hold_and_the_explanation_names_the_rule_and_the_values_seen() -> None:
    earned = compute_earnings(PLAN, sale_facts(product_id="team", customer_country="de"), "usd")
    assert not isinstance(earned, NoEarnings)
    assert earned.earnings_amount == 3000
    assert earned.explanation == (
        "30% of 100.00 USD under Segments, rule 1 'Enterprise EU' (product_id in [team, enterprise]: team; "
        "customer.country = de: de), one-time (first sale)"
    )
    assert earned.explanation_data["conditions"] == [
        {"field": "product_id", "op": "in", "value": ["team", "enterprise"], "actual": "team", "holds": True},
        {"field": "customer.country", "op": "eq", "value": "de", "actual": "de", "holds": True},
    ]
    assert (earned.explanation_data["rule_index"], earned.explanation_data["rule_name"]) == (0, "Enterprise EU")
    assert earned.explanation_data["arithmetic"] == "10000 × 3000 ÷ 10000 = 3000 → 3000"


def test_when_one_condition_fails_the_next_rule_decides() -> None:
    earned = compute_earnings(PLAN, sale_facts(product_id="team", customer_country="fr"), "usd")
    assert not isinstance(earned, NoEarnings)
    assert (earned.earnings_amount, earned.rule_index) == (1000, 1)
    assert earned.explanation == "10% of 100.00 USD under Segments, rule 2, one-time (first sale)"


def test_when_no_rule_matches_the_reason_lists_each_rule() -> None:
    only = PlanTerms(id="p", name="Only EU", rules=PLAN.rules[:1])
    assert compute_earnings(only, sale_facts(product_id="starter", customer_country="de"), "usd") == NoEarnings(
        "Only EU has no rule for this sale: rule 1 'Enterprise EU' needs product_id in [team, enterprise] (got starter)."
    )
