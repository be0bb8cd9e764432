"""Plans in full through tracking: tiers by the partner's volume, bonuses once per period, caps per
customer, conditions over what tracking says about the customer, explanations as data, and plan
changes that never touch commissions already created."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys
from tests.ledger.invariants import check_ledger


def pct(rate_bps: int) -> dict[str, Any]:
    return {"type": "percent", "rate_bps": rate_bps}


def lead(client: TestClient, program: ProgramKeys, customer: str, code: str = "JANE", **extra: Any) -> dict[str, Any]:
    body = {"customer_external_id": customer, "referral_code": code, "occurred_at": "2026-01-01T09:00:00Z", **extra}
    response = client.post("/api/v1/track/lead", json=body, headers=program.headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def sale(
    client: TestClient,
    program: ProgramKeys,
    invoice: str,
    at: str,
    customer: str = "cus_1",
    amount: int = 10_000,
    **extra: Any,
) -> dict[str, Any]:
    body = {"customer_external_id": customer, "amount": amount, "currency": "usd", "invoice_id": invoice,
            "occurred_at": at, **extra}  # fmt: skip
    response = client.post("/api/v1/track/sale", json=body, headers=program.headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def by_kind(answer: dict[str, Any]) -> dict[str, list[int]]:
    kinds: dict[str, list[int]] = {}
    for commission in answer["commissions"]:
        kinds.setdefault(commission["kind"], []).append(commission["earnings_amount"])
    return kinds


def test_a_tier_is_chosen_by_the_partners_sales_earlier_in_the_month(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    tiers = {"metric": "sales_count", "period": "month",
             "levels": [{"min": 0, "reward": pct(1000)}, {"min": 2, "reward": pct(2000)}]}  # fmt: skip
    make_plan(
        client,
        program,
        rules=[{"event": "sale", "reward": pct(1000), "duration": {"kind": "lifetime"}, "tiers": tiers}],
    )
    make_partner(client, program, referral_code="JANE")
    lead(client, program, "cus_1")
    earnings = [
        by_kind(sale(client, program, f"in_{day}", f"2026-01-{day:02d}T10:00:00Z"))["sale"][0] for day in (5, 6, 7)
    ]
    assert earnings == [1000, 1000, 2000]
    # a sale dated earlier in the month but tracked late counts only the sales before it
    late = sale(client, program, "in_late", "2026-01-04T10:00:00Z")["commissions"][0]
    assert late["earnings_amount"] == 1000
    # a new month starts from zero
    february = sale(client, program, "in_feb", "2026-02-01T00:00:00Z")["commissions"][0]
    assert february["earnings_amount"] == 1000
    assert february["explanation_data"]["tier"] == {
        "metric": "sales_count", "period": "month", "value": 0, "level": 1, "min": 0, "levels": 2,
    }  # fmt: skip
    check_ledger(engine, program.id)


def test_a_bonus_is_paid_once_per_partner_and_period(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    bonus = {"name": "Two a month", "metric": "sales_count", "period": "month", "threshold": 2, "amount": 5_000}
    plan_id = make_plan(
        client,
        program,
        rules=[{"event": "sale", "reward": pct(1000), "duration": {"kind": "lifetime"}}],
    )
    client.patch(f"/api/v1/plans/{plan_id}", json={"bonuses": [bonus]}, headers=program.headers)
    make_partner(client, program, referral_code="JANE")
    lead(client, program, "cus_1")
    assert by_kind(sale(client, program, "in_1", "2026-01-05T10:00:00Z")) == {"sale": [1000]}
    second = sale(client, program, "in_2", "2026-01-06T10:00:00Z")
    assert by_kind(second) == {"sale": [1000], "bonus": [5000]}
    [reached] = [row for row in second["commissions"] if row["kind"] == "bonus"]
    assert reached["trigger_event_id"] == second["sale"]["id"]
    assert reached["explanation"] == (
        "Bonus 'Two a month' under Standard: 50.00 USD for reaching 2 sales in 2026-01 (2 sales with this sale)"
    )
    assert by_kind(sale(client, program, "in_3", "2026-01-07T10:00:00Z")) == {"sale": [1000]}
    # the same invoice again answers the same, bonus included, and creates nothing
    assert sale(client, program, "in_2", "2026-01-06T10:00:00Z")["commissions"] == second["commissions"]
    sale(client, program, "in_4", "2026-02-01T10:00:00Z")
    assert by_kind(sale(client, program, "in_5", "2026-02-02T10:00:00Z")) == {"sale": [1000], "bonus": [5000]}
    bonuses = client.get("/api/v1/commissions", params={"kind": "bonus"}, headers=program.headers).json()["data"]
    assert len(bonuses) == 2
    # a refund does not take the bonus back
    refund = client.post("/api/v1/track/refund", json={"invoice_id": "in_2"}, headers=program.headers).json()
    assert [row["kind"] for row in refund["commissions"]] == ["reversal"]
    check_ledger(engine, program.id)


def test_a_cap_per_customer_is_reached_mid_sale(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    make_plan(
        client,
        program,
        rules=[
            {
                "event": "sale",
                "reward": pct(2000),
                "duration": {"kind": "lifetime"},
                "caps": {"per_customer_amount": 3_000},
            }
        ],
    )
    make_partner(client, program, referral_code="JANE")
    lead(client, program, "cus_1")
    first = sale(client, program, "in_1", "2026-01-05T10:00:00Z")["commissions"][0]
    second = sale(client, program, "in_2", "2026-02-05T10:00:00Z")["commissions"][0]
    third = sale(client, program, "in_3", "2026-03-05T10:00:00Z")
    assert (first["earnings_amount"], second["earnings_amount"]) == (2000, 1000)
    assert second["explanation_data"]["cap"]["capped_amount"] == 1000
    assert third["commissions"] == []
    assert "the cap is reached" in third["no_commission_reason"]
    # another customer of the same partner has a cap of their own
    lead(client, program, "cus_2")
    assert (
        sale(client, program, "in_4", "2026-03-06T10:00:00Z", customer="cus_2")["commissions"][0]["earnings_amount"]
        == 2000
    )
    check_ledger(engine, program.id)


def test_conditions_see_what_tracking_says_about_the_customer(client: TestClient, program: ProgramKeys) -> None:
    make_plan(
        client,
        program,
        rules=[
            {"event": "sale", "name": "EU teams", "reward": pct(3000), "duration": {"kind": "lifetime"},
             "conditions": [{"field": "customer.country", "op": "in", "value": ["de", "fr"]},
                            {"field": "customer.metadata.seats", "op": "gte", "value": 10}]},
            {"event": "sale", "reward": pct(1000), "duration": {"kind": "lifetime"}},
        ],
    )  # fmt: skip
    make_partner(client, program, referral_code="JANE")
    lead(client, program, "cus_1", customer_country="DE", customer_metadata={"seats": 4})
    small = sale(client, program, "in_1", "2026-01-05T10:00:00Z")["commissions"][0]
    assert (small["earnings_amount"], small["rule_index"]) == (1000, 1)
    grown = sale(client, program, "in_2", "2026-01-06T10:00:00Z", customer_metadata={"seats": 12})["commissions"][0]
    assert (grown["earnings_amount"], grown["rule_index"]) == (3000, 0)
    assert grown["explanation"].startswith(
        "30% of 100.00 USD under Standard, rule 1 'EU teams' (customer.country in [de, fr]: de; customer.metadata.seats ≥ 10: 12)"
    )


def test_bad_customer_facts_are_refused(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)
    make_partner(client, program, referral_code="JANE")
    for extra in ({"customer_country": "Germany"}, {"customer_metadata": {"seats": 1.5}},
                  {"customer_metadata": {"bad key": 1}}):  # fmt: skip
        body = {"customer_external_id": "cus_1", "referral_code": "JANE", **extra}
        response = client.post("/api/v1/track/lead", json=body, headers=program.headers)
        assert (response.status_code, response.json()["error"]) == (422, "ValidationError"), extra


def test_changing_a_plan_never_changes_commissions_already_created(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    plan_id = make_plan(client, program)
    make_partner(client, program, referral_code="JANE")
    lead(client, program, "cus_1")
    before = sale(client, program, "in_1", "2026-01-05T10:00:00Z")["commissions"][0]
    new_rules = [{"event": "sale", "reward": pct(5000), "duration": {"kind": "lifetime"}}]
    assert (
        client.patch(f"/api/v1/plans/{plan_id}", json={"rules": new_rules}, headers=program.headers).status_code == 200
    )
    after = client.get(f"/api/v1/commissions/{before['id']}", headers=program.headers).json()
    assert after == before
    assert sale(client, program, "in_2", "2026-01-06T10:00:00Z")["commissions"][0]["earnings_amount"] == 5000
    check_ledger(engine, program.id)
