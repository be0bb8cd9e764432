"""Attribution models on stored commissions: first click, and multi-touch splits of a sale's commission."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.commission.earning import unearned_note
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.ledger import service as ledger
from partnerloop.models import Click
from tests.commission.factories import make_click, make_partner, make_plan
from tests.conftest import ProgramKeys
from tests.ledger.invariants import check_ledger

# The Standard plan pays 20%: 4905 earns 981 for a single partner (odd, so a split must round).
AMOUNT, SINGLE = 4905, 981
VISITOR = "visitor-1"


def click(client: TestClient, engine: Engine, program: ProgramKeys, partner_id: str, at: datetime) -> str:
    """A click of the partner's new link by the same visitor (so all of them are the customer's touches)."""
    link = client.post(
        "/api/v1/links",
        json={"partner_id": partner_id, "destination_url": "https://acme.test/"},
        headers=program.headers,
    )
    assert link.status_code == 201, link.text
    with transaction(engine) as session:
        row = Click(
            program_id=program.id, link_id=link.json()["id"], partner_id=partner_id, created_at=at, visitor=VISITOR
        )
        session.add(row)
        session.flush()
        return row.id


def setup(
    client: TestClient, engine: Engine, program: ProgramKeys, model: str, partners: int
) -> tuple[list[str], list[str]]:
    """The Standard plan, the model, and one click per partner (oldest first): (partner ids, click ids)."""
    make_plan(client, program)
    patched = client.patch("/api/v1/program", json={"attribution_model": model}, headers=program.headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["attribution_model"] == model
    partner_ids = [str(make_partner(client, program)["id"]) for _ in range(partners)]
    now = utc_now()
    click_ids = [
        click(client, engine, program, partner_id, now - timedelta(hours=partners - index))
        for index, partner_id in enumerate(partner_ids)
    ]
    return partner_ids, click_ids


def sell(client: TestClient, program: ProgramKeys, click_id: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/track/sale",
        json={
            "customer_external_id": "cus_1",
            "amount": AMOUNT,
            "currency": "usd",
            "invoice_id": "in_1",
            "click_id": click_id,
        },
        headers=program.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def pending(engine: Engine, program: ProgramKeys, partner_id: str) -> int:
    with transaction(engine, writes=False) as session:
        return ledger.balance(session, program.id, partner_id, "usd").pending_amount


def test_linear_splits_the_commission_exactly(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    (first, last), clicks = setup(client, engine, program, "linear", 2)
    body = sell(client, program, clicks[-1])
    by_partner = {row["partner_id"]: row for row in body["commissions"]}
    assert set(by_partner) == {first, last}
    assert sum(row["earnings_amount"] for row in by_partner.values()) == SINGLE
    assert by_partner[first]["earnings_amount"] == 491  # ties go to the partner who touched first
    assert by_partner[last]["earnings_amount"] == 490
    assert all(row["explanation"].startswith("50% share (linear) of ") for row in by_partner.values())
    assert body["customer"]["partner_id"] == last  # attribution itself is unchanged
    assert pending(engine, program, first) == 491  # each row is posted to the ledger
    assert pending(engine, program, last) == 490


def test_position_based_gives_40_20_40(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    partners, clicks = setup(client, engine, program, "position", 3)
    body = sell(client, program, clicks[-1])
    by_partner = {row["partner_id"]: row for row in body["commissions"]}
    amounts = [by_partner[partner_id]["earnings_amount"] for partner_id in partners]
    assert amounts == [393, 196, 392]  # 392.4 / 196.2 / 392.4, the leftover unit to the first touch
    assert sum(amounts) == SINGLE
    assert by_partner[partners[0]]["explanation"].startswith("40% share (position-based) of ")
    assert by_partner[partners[1]]["explanation"].startswith("20% share (position-based) of ")
    assert by_partner[partners[2]]["explanation"].startswith("40% share (position-based) of ")


def test_first_click_credits_the_first_partner(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    (first, _last), clicks = setup(client, engine, program, "first_click", 2)
    body = sell(client, program, clicks[-1])
    [commission] = body["commissions"]
    assert commission["partner_id"] == first
    assert commission["earnings_amount"] == SINGLE
    assert body["customer"]["partner_id"] == first
    assert body["customer"]["attribution"].startswith(f"first click {clicks[0]}")


def test_last_click_is_unchanged(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    (_first, last), clicks = setup(client, engine, program, "last_click", 2)
    [commission] = sell(client, program, clicks[-1])["commissions"]
    assert (commission["partner_id"], commission["earnings_amount"]) == (last, SINGLE)


def test_a_refund_reverses_every_share(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    (first, last), clicks = setup(client, engine, program, "linear", 2)
    originals = {row["id"]: row for row in sell(client, program, clicks[-1])["commissions"]}
    response = client.post("/api/v1/track/refund", json={"invoice_id": "in_1"}, headers=program.headers)
    assert response.status_code == 200, response.text
    reversals = response.json()["commissions"]
    assert {row["reverses_id"] for row in reversals} == set(originals)
    for row in reversals:
        assert row["earnings_amount"] == -originals[row["reverses_id"]]["earnings_amount"]
        assert row["partner_id"] == originals[row["reverses_id"]]["partner_id"]
    assert pending(engine, program, first) == 0
    assert pending(engine, program, last) == 0


# ---------------------------------------------------------------- each share under its own partner's plan

SALE = 10_000
LIFETIME = {"kind": "lifetime"}


def percent_rule(rate_bps: int, **extra: Any) -> dict[str, Any]:
    return {"event": "sale", "reward": {"type": "percent", "rate_bps": rate_bps}, "duration": LIFETIME, **extra}


def gold_group(client: TestClient, program: ProgramKeys, rules: list[dict[str, Any]]) -> str:
    """A Gold group earning by a Gold plan of these rules; answers the group's id."""
    gold_plan = make_plan(client, program, rules=rules, name="Gold", default=False)
    response = client.post("/api/v1/groups", json={"name": "Gold", "plan_id": gold_plan}, headers=program.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def two_partners(
    client: TestClient, engine: Engine, program: ProgramKeys, gold_rules: list[dict[str, Any]], gold_last: bool
) -> tuple[str, str, str]:
    """A 20% default plan, a Gold group plan, linear credit, a Gold and a default partner who both
    clicked (the Gold one last when `gold_last`): (Gold partner, default partner, the last click)."""
    make_plan(client, program, rules=[percent_rule(2000)], name="Standard")
    patched = client.patch("/api/v1/program", json={"attribution_model": "linear"}, headers=program.headers)
    assert patched.status_code == 200, patched.text
    gold = str(make_partner(client, program, group_id=gold_group(client, program, gold_rules))["id"])
    standard = str(make_partner(client, program)["id"])
    now = utc_now()
    order = [standard, gold] if gold_last else [gold, standard]
    clicks = [click(client, engine, program, partner_id, now - timedelta(hours=2 - index))
              for index, partner_id in enumerate(order)]  # fmt: skip
    return gold, standard, clicks[-1]


def sell_for(client: TestClient, program: ProgramKeys, click_id: str, amount: int = SALE) -> dict[str, Any]:
    body = {"customer_external_id": "cus_1", "amount": amount, "currency": "usd", "invoice_id": "in_1",
            "click_id": click_id}  # fmt: skip
    response = client.post("/api/v1/track/sale", json=body, headers=program.headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def listed(client: TestClient, program: ProgramKeys) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/commissions", headers=program.headers)
    assert response.status_code == 200, response.text
    return {row["partner_id"]: row for row in response.json()["data"]}


@pytest.mark.parametrize(
    "gold_last", [True, False], ids=["the Gold partner is credited", "the default partner is credited"]
)
def test_each_share_is_priced_under_its_own_partners_plan(
    client: TestClient, engine: Engine, program: ProgramKeys, gold_last: bool
) -> None:
    gold, standard, last_click = two_partners(client, engine, program, [percent_rule(4000)], gold_last)
    answer = sell_for(client, program, last_click)
    assert answer["customer"]["partner_id"] == (gold if gold_last else standard)
    by_partner = {row["partner_id"]: row for row in answer["commissions"]}
    assert {partner: row["earnings_amount"] for partner, row in by_partner.items()} == {gold: 2000, standard: 1000}
    assert by_partner[gold]["explanation"].startswith("50% share (linear) of 40% of 100.00 USD under Gold")
    assert by_partner[standard]["explanation"].startswith("50% share (linear) of 20% of 100.00 USD under Standard")
    assert by_partner[gold]["explanation_data"]["plan_name"] == "Gold"
    assert by_partner[gold]["explanation_data"]["share"]["model"] == "linear"
    stored = listed(client, program)
    assert {partner: row["earnings_amount"] for partner, row in stored.items()} == {gold: 2000, standard: 1000}
    assert stored[gold]["plan_id"] != stored[standard]["plan_id"]
    assert (pending(engine, program, gold), pending(engine, program, standard)) == (2000, 1000)
    check_ledger(engine, program.id)


@pytest.mark.parametrize(
    "gold_last", [True, False], ids=["the Gold partner is credited", "the default partner is credited"]
)
def test_a_share_whose_plan_earns_nothing_leaves_the_others_theirs(
    client: TestClient, engine: Engine, program: ProgramKeys, gold_last: bool
) -> None:
    only_germany = percent_rule(4000, conditions=[{"field": "customer.country", "op": "eq", "value": "DE"}])
    gold, standard, last_click = two_partners(client, engine, program, [only_germany], gold_last)
    answer = sell_for(client, program, last_click)
    [commission] = answer["commissions"]
    assert (commission["partner_id"], commission["earnings_amount"]) == (standard, 1000)
    [unearned] = commission["explanation_data"]["share"]["unearned"]
    assert unearned["partner_id"] == gold
    assert unearned["label"] == "50% share (linear)"
    assert "Gold" in unearned["reason"]
    assert pending(engine, program, gold) == 0
    assert list(listed(client, program)) == [standard]


def test_no_share_earning_says_why(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    only_germany = percent_rule(4000, conditions=[{"field": "customer.country", "op": "eq", "value": "DE"}])
    _gold, _standard, last_click = two_partners(client, engine, program, [only_germany], True)
    answer = sell_for(client, program, last_click, amount=2)  # Gold has no rule, 20% of 0.02 usd rounds to nothing
    assert answer["commissions"] == []
    assert "Gold" in answer["no_commission_reason"]
    assert "rounds to 0.00 USD" in answer["no_commission_reason"]


def test_a_cap_limits_the_partners_share_not_the_whole_sale(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    capped = percent_rule(4000, caps={"per_customer_amount": 1500})
    gold, standard, last_click = two_partners(client, engine, program, [capped], False)
    by_partner = {row["partner_id"]: row for row in sell_for(client, program, last_click)["commissions"]}
    # 50% of 40% of 100.00 is 20.00, cut to the 15.00 Gold allows per customer (not 50% of 15.00)
    assert (by_partner[gold]["earnings_amount"], by_partner[standard]["earnings_amount"]) == (1500, 1000)
    assert by_partner[gold]["explanation_data"]["cap"]["capped_amount"] == 1500
    assert "capped at 15.00 USD per customer" in by_partner[gold]["explanation"]


def test_a_condition_on_the_partners_group_is_judged_per_share(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    """One plan for everyone whose first rule pays the Gold group more: each share sees its own group."""
    make_plan(
        client,
        program,
        rules=[percent_rule(4000, conditions=[{"field": "partner.group", "op": "eq", "value": "Gold"}]),
               percent_rule(2000)],
        name="Standard",
    )  # fmt: skip
    patched = client.patch("/api/v1/program", json={"attribution_model": "linear"}, headers=program.headers)
    assert patched.status_code == 200, patched.text
    group = client.post("/api/v1/groups", json={"name": "Gold"}, headers=program.headers)
    assert group.status_code == 201, group.text
    gold = str(make_partner(client, program, group_id=group.json()["id"])["id"])
    other = str(make_partner(client, program)["id"])
    now = utc_now()
    click(client, engine, program, gold, now - timedelta(hours=2))
    last_click = click(client, engine, program, other, now - timedelta(hours=1))
    by_partner = {
        row["partner_id"]: row["earnings_amount"] for row in sell_for(client, program, last_click)["commissions"]
    }
    assert by_partner == {gold: 2000, other: 1000}


def test_a_tier_is_chosen_by_the_share_partners_own_volume(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    levels = [{"min": 0, "reward": {"type": "percent", "rate_bps": 1000}},
              {"min": 1, "reward": {"type": "percent", "rate_bps": 4000}}]  # fmt: skip
    tiered = percent_rule(1000, tiers={"metric": "sales_count", "period": "month", "levels": levels})
    gold, standard, last_click = two_partners(client, engine, program, [tiered], False)
    # The Gold partner's own earlier sale (another customer, their click alone) puts them in tier 2.
    own = client.post(
        "/api/v1/track/sale",
        json={"customer_external_id": "cus_0", "amount": SALE, "currency": "usd", "invoice_id": "in_0",
              "click_id": make_click(client, engine, program, gold)},
        headers=program.headers,
    )  # fmt: skip
    assert own.status_code == 200, own.text
    assert [(row["partner_id"], row["earnings_amount"]) for row in own.json()["commissions"]] == [(gold, 1000)]
    by_partner = {row["partner_id"]: row for row in sell_for(client, program, last_click)["commissions"]}
    assert (by_partner[gold]["earnings_amount"], by_partner[standard]["earnings_amount"]) == (2000, 1000)
    assert by_partner[gold]["explanation_data"]["tier"]["level"] == 2


def test_a_refund_reverses_each_share_under_its_own_plan(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    gold, standard, last_click = two_partners(client, engine, program, [percent_rule(4000)], True)
    sell_for(client, program, last_click)
    response = client.post("/api/v1/track/refund", json={"invoice_id": "in_1", "amount": 2500}, headers=program.headers)
    assert response.status_code == 200, response.text
    reversed_by = {row["partner_id"]: row["earnings_amount"] for row in response.json()["commissions"]}
    assert reversed_by == {gold: -500, standard: -250}
    assert (pending(engine, program, gold), pending(engine, program, standard)) == (1500, 750)
    check_ledger(engine, program.id)


UNEARNED_NOTES = [
    pytest.param([], None, id="every share earned: no note"),
    pytest.param([("p1", "50% share (linear)", "Gold has no rule for sales.")], "Gold has no rule for sales.",
                 id="one share earned nothing: its reason"),
    pytest.param([("p1", "50% share (linear)", "Standard has no rule for sales."),
                  ("p2", "50% share (linear)", "Standard has no rule for sales.")],
                 "Standard has no rule for sales.", id="the same reason for every share is said once"),
    pytest.param([("p1", "40% share (position-based)", "Gold has no rule for sales."),
                  ("p2", "60% share (position-based)", "Standard has no rule for sales.")],
                 "Partner p1's 40% share (position-based): Gold has no rule for sales. "
                 "Partner p2's 60% share (position-based): Standard has no rule for sales.",
                 id="different reasons name each partner's share"),
    pytest.param([("p1", "50% share (linear)", "x" * 400), ("p2", "50% share (linear)", "y" * 400)], 500,
                 id="a long note is cut to what the column holds"),
]  # fmt: skip


@pytest.mark.parametrize(("unearned", "expected"), UNEARNED_NOTES)
def test_unearned_note(unearned: list[tuple[str, str, str]], expected: str | int | None) -> None:
    note = unearned_note(unearned)
    if isinstance(expected, int):
        assert note is not None and len(note) == expected
    else:
        assert note == expected
