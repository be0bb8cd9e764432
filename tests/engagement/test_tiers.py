"""Tiers over the groups API: rank, promotion and demotion rules, checked together; moves by the rules."""

from __future__ import annotations

import threading
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.engagement.service import tiers
from partnerloop.kit.time import utc_now
from partnerloop.models import Commission, GroupTier, Job, Program, TierMove
from tests.conftest import ProgramKeys
from tests.engagement.helpers import convert, group, group_of, make_partner, percent_plan
from tests.notify.smtp import SmtpRecorder
from tests.tracking.helpers import eventually


def _ladder(client: TestClient, program: ProgramKeys) -> tuple[dict, dict]:  # type: ignore[type-arg]
    bronze_plan = percent_plan(client, program, "Bronze plan", 1000, default=True)
    gold_plan = percent_plan(client, program, "Gold plan", 3000)
    gold = group(client, program, name="Gold", plan_id=gold_plan, rank=2)
    bronze = group(
        client, program, name="Bronze", plan_id=bronze_plan, rank=1,
        promotion={"metric": "sales", "period": "month", "threshold": 2, "to_group_id": gold["id"]},
    )  # fmt: skip
    return bronze, gold


def test_a_group_takes_a_rank_and_rules_and_shows_them(client: TestClient, program: ProgramKeys) -> None:
    bronze, gold = _ladder(client, program)
    assert bronze["rank"] == 1 and bronze["promotion"]["to_group_id"] == gold["id"] and bronze["plan_id"]
    patched = client.patch(
        f"/api/v1/groups/{gold['id']}",
        json={"demotion": {"metric": "revenue", "period": "quarter", "threshold": 50000, "to_group_id": bronze["id"]},
              "perks": ["early_access"]},
        headers=program.headers,
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert patched.json()["demotion"]["threshold"] == 50000 and patched.json()["perks"] == ["early_access"]
    assert patched.json()["name"] == "Gold" and patched.json()["rank"] == 2  # untouched fields stay
    listed = {row["name"]: row for row in client.get("/api/v1/groups", headers=program.headers).json()["data"]}
    assert listed["Gold"]["demotion"]["to_group_id"] == bronze["id"] and listed["Bronze"]["rank"] == 1
    plain = group(client, program, name="Plain")  # the groups API of before still works as it did
    assert plain["rank"] is None and plain["promotion"] is None and plain["perks"] == []


def test_bad_tier_rules_are_a_422_naming_the_field_and_change_nothing(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    bronze, gold = _ladder(client, program)
    rule = {"metric": "sales", "period": "month", "threshold": 5, "to_group_id": bronze["id"]}
    cases = [
        ({**rule, "to_group_id": "01NOSUCHGROUP0000000000000"}, "promotion.to_group_id"),
        ({**rule, "threshold": 0}, "promotion.threshold"),
        ({**rule, "threshold": -3}, "promotion.threshold"),
        ({**rule, "metric": "clicks_per_moon"}, "promotion.metric"),
        ({**rule, "period": "week"}, "promotion.period"),
        (rule, "promotion.to_group_id"),  # Gold (rank 2) promoting to Bronze (rank 1), and a cycle
    ]
    for promotion, field in cases:
        answer = client.patch(f"/api/v1/groups/{gold['id']}", json={"promotion": promotion, "name": "Platinum"},
                              headers=program.headers)  # fmt: skip
        assert answer.status_code == 422, (promotion, answer.text)
        assert answer.json()["detail"].startswith(field), answer.text
    # A cycle without ranks to tell the way: A -> B -> A.
    a = group(client, program, name="A")
    b = group(client, program, name="B", promotion={**rule, "to_group_id": a["id"]})
    cycle = client.patch(f"/api/v1/groups/{a['id']}", json={"promotion": {**rule, "to_group_id": b["id"]}},
                         headers=program.headers)  # fmt: skip
    assert cycle.status_code == 422 and "cycle" in cycle.json()["detail"], cycle.text
    # A new group with a bad rule is not created at all.
    refused = client.post("/api/v1/groups", json={"name": "Ghost", "promotion": {**rule, "threshold": 0}},
                          headers=program.headers)  # fmt: skip
    assert refused.status_code == 422
    names = {row["name"] for row in client.get("/api/v1/groups", headers=program.headers).json()["data"]}
    assert names == {"Bronze", "Gold", "A", "B"}
    after = client.get(f"/api/v1/groups/{gold['id']}", headers=program.headers).json()
    assert after["name"] == "Gold" and after["promotion"] is None
    assert client.get(f"/api/v1/groups/{a['id']}", headers=program.headers).json()["promotion"] is None
    with transaction(engine, writes=False) as session:
        assert session.get(GroupTier, a["id"]) is None


def test_a_promotion_after_a_sale_changes_the_plan_for_later_sales_only(
    mail_client: TestClient, program: ProgramKeys, engine: Engine, smtp: SmtpRecorder
) -> None:
    client = mail_client
    bronze, gold = _ladder(client, program)
    pat = make_partner(client, program, name="Pat", email="pat@tier.test", group_id=bronze["id"])
    first = convert(client, program, pat["referral_code"], "cus_1", 10000, "in_1")
    assert first["commissions"][0]["earnings_amount"] == 1000  # 10% under Bronze
    second = convert(client, program, pat["referral_code"], "cus_2", 10000, "in_2")
    assert second["commissions"][0]["earnings_amount"] == 1000  # the sale that reached the threshold: still Bronze
    eventually(lambda: group_of(engine, pat["id"]) == gold["id"], timeout=10)  # the check queued by the sale
    third = convert(client, program, pat["referral_code"], "cus_3", 10000, "in_3")
    assert third["commissions"][0]["earnings_amount"] == 3000  # 30% under Gold from now on
    with transaction(engine, writes=False) as session:
        earlier = session.execute(
            select(Commission.earnings_amount).where(Commission.id.in_(
                [first["commissions"][0]["id"], second["commissions"][0]["id"]]))
        ).scalars().all()  # fmt: skip
        assert sorted(earlier) == [1000, 1000]  # earlier commissions keep their amounts
        moves = session.execute(select(TierMove)).scalars().all()
    assert len(moves) == 1 and moves[0].direction == "promotion" and moves[0].value == 2
    assert (
        moves[0].reason.startswith("Promoted to Gold: 2 sales this month") and "threshold of 2 sales" in moves[0].reason
    )
    mail = smtp.wait_for(to="pat@tier.test", subject="You reached Gold")
    assert moves[0].reason in mail.text and "keep their amounts" in mail.text
    assert "From now on as Gold: You earn 30% of each payment for as long as the customer pays." in mail.text


def test_the_daily_check_demotes_after_a_full_period_below_with_a_grace_period(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    bronze, gold = _ladder(client, program)
    client.patch(f"/api/v1/groups/{gold['id']}", headers=program.headers,
                 json={"demotion": {"metric": "sales", "period": "month", "threshold": 1, "to_group_id": bronze["id"]}})  # fmt: skip
    quiet = make_partner(client, program, name="Quiet", group_id=gold["id"])
    now = utc_now()
    with transaction(engine) as session:
        program_row = session.get(Program, program.id)
        assert program_row is not None
        assert tiers.evaluate(session, program_row, now) == []  # joined Gold this month: grace
        later = now + timedelta(days=70)  # two months on: last month was a full month in Gold with 0 sales
        moves = tiers.evaluate(session, program_row, later)
    assert [(move.partner_id, move.direction, move.to_group_id) for move in moves] == [
        (quiet["id"], "demotion", bronze["id"])
    ]
    assert "0 sales last month" in moves[0].reason and "below the 1 sale that Gold asks for" in moves[0].reason
    assert group_of(engine, quiet["id"]) == bronze["id"]


def test_perks_of_the_tier_show_on_the_partner(client: TestClient, program: ProgramKeys) -> None:
    bronze, gold = _ladder(client, program)
    client.patch(f"/api/v1/groups/{gold['id']}", json={"perks": ["early_access"]}, headers=program.headers)
    vip = make_partner(client, program, group_id=gold["id"])
    plain = make_partner(client, program, group_id=bronze["id"])
    vip_out = client.get(f"/api/v1/partners/{vip['id']}", headers=program.headers).json()
    assert vip_out["perks"] == {"tier_rank": 2, "perks": ["early_access"], "early_access": True}
    assert vip_out["group_id"] == gold["id"] and vip_out["referral_code"]  # nothing renamed
    plain_out = client.get(f"/api/v1/partners/{plain['id']}", headers=program.headers).json()
    assert plain_out["perks"] == {"tier_rank": 1, "perks": [], "early_access": False}
    untiered = make_partner(client, program)
    assert client.get(f"/api/v1/partners/{untiered['id']}", headers=program.headers).json() == untiered
    bad = client.patch(f"/api/v1/groups/{gold['id']}", json={"perks": ["free_lunch"]}, headers=program.headers)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("perks")


def test_two_tier_checks_at_once_move_a_partner_once(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    """The job a sale queues and the daily check can run at the same moment: the second waits for the first
    and then sees the partner already moved, so one crossing is one move (and one email), never two."""
    bronze_plan = percent_plan(client, program, "Bronze plan", 1000, default=True)
    gold = group(client, program, name="Gold", plan_id=percent_plan(client, program, "Gold plan", 3000), rank=2)
    bronze = group(client, program, name="Bronze", plan_id=bronze_plan, rank=1)
    pat = make_partner(client, program, name="Pat", group_id=bronze["id"])
    convert(client, program, pat["referral_code"], "cus_1", 10000, "in_1")
    convert(client, program, pat["referral_code"], "cus_2", 10000, "in_2")  # no rule yet: no check queued
    with transaction(engine, writes=False) as session:  # ranks without rules are no reason to check
        assert session.execute(select(Job.id).where(Job.kind == tiers.EVALUATE_TIERS_JOB)).all() == []
    rule = {"metric": "sales", "period": "month", "threshold": 2, "to_group_id": gold["id"]}
    assert client.patch(f"/api/v1/groups/{bronze['id']}", json={"promotion": rule}, headers=program.headers).is_success
    first_done, first_may_commit = threading.Event(), threading.Event()
    made: dict[str, int] = {}

    def check(name: str, hold: bool) -> None:
        with transaction(engine) as session:
            program_row = session.get(Program, program.id)
            assert program_row is not None
            made[name] = len(tiers.evaluate(session, program_row, utc_now()))
            if hold:
                first_done.set()
                first_may_commit.wait(10)

    first = threading.Thread(target=check, args=("first", True))
    first.start()
    assert first_done.wait(10)
    second = threading.Thread(target=check, args=("second", False))
    second.start()
    second.join(0.5)  # the second check is under way (and must wait) while the first has not committed
    first_may_commit.set()
    first.join(10)
    second.join(10)
    assert made == {"first": 1, "second": 0}
    with transaction(engine, writes=False) as session:
        moves = session.execute(select(TierMove.partner_id, TierMove.to_group_id)).all()
    assert [tuple(move) for move in moves] == [(pat["id"], gold["id"])]
    assert group_of(engine, pat["id"]) == gold["id"]
