"""The retention metric of tier rules: the share of a partner's customers still paying N months on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.engagement.rules import (
    Tier,
    TierFacts,
    TierRule,
    add_months,
    decide_moves,
    retention_percent,
    rule_problems,
)
from partnerloop.engagement.service import tiers
from partnerloop.models import Program, TierMove
from tests.conftest import ProgramKeys
from tests.engagement.helpers import group, group_of, make_partner, percent_plan
from tests.tracking.helpers import eventually

AS_OF = datetime(2026, 12, 3, tzinfo=UTC)
JAN = datetime(2026, 1, 31, 10, tzinfo=UTC)

SPANS = [
    pytest.param([], None, id="no customer at all: no figure"),
    pytest.param([(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))], None,
                 id="a customer of two months: too young to judge after three"),
    pytest.param([(datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))], 100,
                 id="paid again exactly three months after the first payment: retained"),
    pytest.param([(datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC))], 0,
                 id="last paid one day short of three months: not retained"),
    pytest.param([(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),
                  (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
                  (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC)),
                  (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))], 66,
                 id="two of three old-enough customers retained (the young fourth is left out): 66%"),
]  # fmt: skip


@pytest.mark.parametrize(("spans", "expected"), SPANS)
def test_retention_percent(spans: list[tuple[datetime, datetime]], expected: int | None) -> None:
    assert retention_percent(spans, 3, AS_OF) == expected


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert add_months(JAN, 1) == datetime(2026, 2, 28, 10, tzinfo=UTC)
    assert add_months(JAN, 13) == datetime(2027, 2, 28, 10, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 15, tzinfo=UTC), 3) == datetime(2027, 2, 15, tzinfo=UTC)


RULES = [
    pytest.param({"metric": "retention", "period": "quarter", "threshold": 80, "to_group_id": "g"}, [],
                 id="80% retention over the default three months"),
    pytest.param({"metric": "retention", "period": "quarter", "threshold": 80, "months": 6, "to_group_id": "g"}, [],
                 id="80% retention after six months"),
    pytest.param({"metric": "retention", "period": "month", "threshold": 101, "to_group_id": "g"},
                 ["promotion.threshold"], id="a retention above 100% is a 422"),
    pytest.param({"metric": "retention", "period": "month", "threshold": 50, "months": 0, "to_group_id": "g"},
                 ["promotion.months"], id="zero months is a 422"),
    pytest.param({"metric": "sales", "period": "month", "threshold": 5, "months": 3, "to_group_id": "g"},
                 ["promotion.months"], id="months on another metric is a 422"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "fields"), RULES)
def test_retention_rule_problems(rule: dict[str, object], fields: list[str]) -> None:
    assert [field for field, _sentence in rule_problems("promotion", rule, ["b", "g"])] == fields


SILVER = Tier(
    "s", "Silver", 2,
    promotion=TierRule("retention", "quarter", 80, "g", months=6),
    demotion=TierRule("retention", "quarter", 40, "b"),
)  # fmt: skip
LADDER = {tier.group_id: tier for tier in (Tier("b", "Bronze", 1), SILVER, Tier("g", "Gold", 3))}
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


def test_retention_promotes_and_demotes_and_says_so_in_words() -> None:
    up = decide_moves(LADDER, TierFacts("p", "s", LONG_AGO, {("retention:6", "current", "quarter"): 85}), AS_OF, "usd")
    assert [(move.to_group_id, move.direction) for move in up] == [("g", "promotion")]
    assert up[0].reason == (
        "Promoted to Gold: 85% of customers still paying after 6 months this quarter (2026-Q4) reached the "
        "threshold of 80% of customers still paying after 6 months."
    )
    down = decide_moves(
        LADDER, TierFacts("p", "s", LONG_AGO, {("retention:3", "previous", "quarter"): 30}), AS_OF, "usd"
    )
    assert [(move.to_group_id, move.direction) for move in down] == [("b", "demotion")]
    assert "30% of customers still paying after 3 months last quarter" in down[0].reason


def test_no_customer_old_enough_is_no_reason_to_demote() -> None:
    assert decide_moves(LADDER, TierFacts("p", "s", LONG_AGO, {}), AS_OF, "usd") == []


def test_the_daily_check_promotes_by_the_retention_of_real_sales(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    bronze_plan = percent_plan(client, program, "Bronze plan", 1000, default=True)
    gold = group(client, program, name="Gold", plan_id=percent_plan(client, program, "Gold plan", 3000), rank=2)
    bronze = group(
        client, program, name="Bronze", plan_id=bronze_plan, rank=1,
        promotion={"metric": "retention", "period": "month", "threshold": 50, "months": 2, "to_group_id": gold["id"]},
    )  # fmt: skip
    assert bronze["promotion"]["months"] == 2
    loyal = make_partner(client, program, name="Loyal", group_id=bronze["id"])
    fickle = make_partner(client, program, name="Fickle", group_id=bronze["id"])
    start = datetime.now(UTC) - timedelta(days=100)

    def sale(code: str, customer: str, invoice: str, at: datetime) -> None:
        if code:
            lead = client.post("/api/v1/track/lead", headers=program.headers,
                               json={"referral_code": code, "customer_external_id": customer,
                                     "occurred_at": (at - timedelta(hours=1)).isoformat()})  # fmt: skip
            assert lead.status_code == 200, lead.text
        answer = client.post("/api/v1/track/sale", headers=program.headers, json={
            "customer_external_id": customer, "amount": 5000, "currency": "usd", "invoice_id": invoice,
            "occurred_at": at.isoformat()})  # fmt: skip
        assert answer.status_code == 200, answer.text

    sale(loyal["referral_code"], "cus_l1", "in_l1", start)
    sale("", "cus_l1", "in_l1b", start + timedelta(days=70))  # still paying after two months
    sale(fickle["referral_code"], "cus_f1", "in_f1", start)  # paid once, then left
    # The check each sale queues, or the daily one: either moves Loyal (100% retained) and not Fickle (0%).
    with transaction(engine) as session:
        program_row = session.get(Program, program.id)
        assert program_row is not None
        tiers.evaluate(session, program_row, datetime.now(UTC))
    eventually(lambda: group_of(engine, loyal["id"]) == gold["id"], timeout=10)
    with transaction(engine, writes=False) as session:
        moves = session.execute(select(TierMove)).scalars().all()
    assert [(move.partner_id, move.metric, move.value) for move in moves] == [(loyal["id"], "retention", 100)]
    assert "100% of customers still paying after 2 months" in moves[0].reason
    assert group_of(engine, fickle["id"]) == bronze["id"]
    refused = client.patch(f"/api/v1/groups/{bronze['id']}", headers=program.headers, json={
        "promotion": {"metric": "retention", "period": "month", "threshold": 120, "to_group_id": gold["id"]}})  # fmt: skip
    assert refused.status_code == 422 and "promotion.threshold" in refused.text
