"""The simulator replays a multi-touch program's splits the way live sales are split: each touching
partner earns their share of the sale, priced under the proposed plan (conversion's `credit_split` and
the engine's share, the same rule as `commission.earning`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.kit.time import utc_now
from tests.commission.factories import make_plan
from tests.commission.test_multitouch_commissions import sell, setup
from tests.conftest import ProgramKeys
from tests.plan.test_simulate import post

THIRTY_PERCENT = [{"event": "sale", "reward": {"type": "percent", "rate_bps": 3000}, "duration": {"kind": "lifetime"}}]


def _simulate(client: TestClient, program: ProgramKeys, plan_id: str) -> dict[str, dict[str, Any]]:
    today = utc_now().date()
    window = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    answer = post(client, program, f"/api/v1/plans/{plan_id}/simulate", window)
    return {row["partner_id"]: row for row in answer["partners"]}


def _standard_plan_id(client: TestClient, program: ProgramKeys) -> str:
    plans = client.get("/api/v1/plans", headers=program.headers).json()["data"]
    [standard] = [plan for plan in plans if plan["name"] == "Standard"]
    return str(standard["id"])


def test_simulating_the_plan_in_force_of_a_linear_program_reproduces_each_recorded_share(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    (first, last), clicks = setup(client, engine, program, "linear", 2)
    live = {row["partner_id"]: row["earnings_amount"] for row in sell(client, program, clicks[-1])["commissions"]}
    assert live == {first: 491, last: 490}  # 20% of 49.05, split 50/50

    simulated = _simulate(client, program, _standard_plan_id(client, program))

    assert {partner_id: row["current_amount"] for partner_id, row in simulated.items()} == live
    assert {partner_id: row["proposed_amount"] for partner_id, row in simulated.items()} == live
    assert simulated[last]["sales"] == 1 and simulated[first]["sales"] == 0  # the sale stays the credited partner's


def test_a_proposed_plan_is_split_between_the_touching_partners_like_a_live_sale(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    (first, last), clicks = setup(client, engine, program, "linear", 2)
    sell(client, program, clicks[-1])
    proposed = make_plan(client, program, rules=THIRTY_PERCENT, name="Thirty", default=False)

    simulated = _simulate(client, program, proposed)

    # 30% of 49.05 is 14.715 (1472 cents, rounded half away): 736 + 736, not 1472 to the last click alone
    assert simulated[first]["proposed_amount"] == 736
    assert simulated[last]["proposed_amount"] == 736
    assert simulated[first]["current_amount"] + simulated[last]["current_amount"] == 981
