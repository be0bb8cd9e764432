"""Incentive campaigns: one request makes the time-boxed rule, the announcement and the window's board."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.engagement.service import campaigns
from partnerloop.kit.time import utc_now
from partnerloop.models import Commission, Job
from tests.conftest import ProgramKeys
from tests.engagement.helpers import convert, make_partner, percent_plan


def test_a_campaign_pays_its_rate_inside_its_window_announces_itself_and_reports(
    client: TestClient, program: ProgramKeys
) -> None:
    plan = percent_plan(client, program, "Standard", 1000, default=True)
    ann = make_partner(client, program, name="Ann")
    before = convert(client, program, ann["referral_code"], "cus_0", 10000, "in_0")
    assert before["commissions"][0]["earnings_amount"] == 1000
    now = utc_now()
    body = {"name": "December double", "plan_id": plan, "from": now.isoformat(),
            "until": (now + timedelta(days=7)).isoformat(), "reward": {"type": "percent", "rate_bps": 2500},
            "leaderboard_metric": "sales",
            "announcement": {"title": "25% all week", "body": "Every sale this week earns **25%**.", "email": False}}  # fmt: skip
    made = client.post("/api/v1/campaigns", json=body, headers=program.headers)
    assert made.status_code == 201, made.text
    campaign = made.json()
    assert campaign["status"] == "running" and campaign["announcement_id"]
    rules = client.get(f"/api/v1/plans/{plan}", headers=program.headers).json()["rules"]
    assert rules[0]["name"] == "December double" and rules[0]["active"] and len(rules) == 2
    during = convert(client, program, ann["referral_code"], "cus_1", 10000, "in_1")
    assert during["commissions"][0]["earnings_amount"] == 2500
    assert "December double" in during["commissions"][0]["explanation"]
    news = client.get(f"/api/v1/announcements/{campaign['announcement_id']}", headers=program.headers).json()
    assert news["status"] == "sent" and news["figures"]["recipients"] == 1
    results = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=program.headers).json()["results"]
    assert results["revenue_amount"] == 10000 and results["sales"] == 1
    assert results["previous_revenue_amount"] == 10000 and results["previous_sales"] == 1  # the week before
    assert [(row["rank"], row["name"], row["value"]) for row in results["leaderboard"]] == [(1, "Ann", 1)]
    assert len(client.get("/api/v1/campaigns", headers=program.headers).json()["data"]) == 1


def test_a_bad_campaign_is_a_422_and_the_plan_is_unchanged(client: TestClient, program: ProgramKeys) -> None:
    plan = percent_plan(client, program, "Standard", 1000, default=True)
    now = utc_now()
    good = {"name": "C", "plan_id": plan, "from": now.isoformat(), "until": (now + timedelta(days=1)).isoformat(),
            "reward": {"type": "percent", "rate_bps": 2500}}  # fmt: skip
    cases = [
        ({**good, "until": (now - timedelta(days=1)).isoformat()}, "until"),
        ({**good, "reward": {"type": "percent", "rate_bps": -5}}, "reward"),
        ({**good, "reward": {"type": "bitcoin"}}, "reward"),
        ({**good, "announcement": {"title": "Hi", "body": "nobody to tell"}}, "audience"),  # no partner yet
        ({**good, "name": ""}, "name"),
    ]
    for body, field in cases:
        answer = client.post("/api/v1/campaigns", json=body, headers=program.headers)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.text, answer.text
    assert (
        client.post("/api/v1/campaigns", json={**good, "plan_id": "nope"}, headers=program.headers).status_code == 404
    )
    assert len(client.get(f"/api/v1/plans/{plan}", headers=program.headers).json()["rules"]) == 1
    assert client.get("/api/v1/campaigns", headers=program.headers).json()["data"] == []


def test_a_campaign_bonus_pays_each_partner_who_reached_it_once_when_it_ends(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    percent_plan(client, program, "Standard", 1000, default=True)
    ann = make_partner(client, program, name="Ann")
    bob = make_partner(client, program, name="Bob")
    now = utc_now()
    body = {"name": "Two sales, 50 USD", "from": (now - timedelta(hours=1)).isoformat(),
            "until": (now + timedelta(days=7)).isoformat(), "bonus": {"metric": "sales", "threshold": 2, "amount": 5000},
            "leaderboard_metric": "sales"}  # fmt: skip
    made = client.post("/api/v1/campaigns", json=body, headers=program.headers)
    assert made.status_code == 201, made.text
    campaign = made.json()
    assert campaign["rule"] is None and campaign["plan_id"] is None
    assert campaign["bonus"] == {"metric": "sales", "threshold": 2, "amount": 5000}
    convert(client, program, ann["referral_code"], "cus_a1", 10000, "in_a1")
    convert(client, program, ann["referral_code"], "cus_a2", 10000, "in_a2")
    convert(client, program, bob["referral_code"], "cus_b1", 10000, "in_b1")  # one sale of two: no bonus
    with transaction(engine) as session:
        assert campaigns.pay_bonuses(session, campaign["id"], now) == 0  # not over yet
        over = now + timedelta(days=8)
        assert campaigns.pay_bonuses(session, campaign["id"], over) == 1
        assert campaigns.pay_bonuses(session, campaign["id"], over) == 0  # once per partner
    with transaction(engine, writes=False) as session:
        bonus = session.execute(select(Commission).where(Commission.kind == "manual")).scalars().all()
        jobs = session.execute(select(Job).where(Job.kind == campaigns.PAY_BONUSES_JOB)).scalars().all()
    assert [(row.partner_id, row.earnings_amount, row.status) for row in bonus] == [(ann["id"], 5000, "pending")]
    assert "Campaign bonus “Two sales, 50 USD”: 2 sales" in bonus[0].explanation
    assert len(jobs) == 1 and jobs[0].run_at >= now + timedelta(days=6)  # the payment waits for the end
    results = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=program.headers).json()["results"]
    assert (results["bonuses_paid"], results["bonuses_amount"]) == (1, 5000)


def test_a_campaign_needs_a_rule_or_a_bonus_and_a_rule_needs_a_plan(client: TestClient, program: ProgramKeys) -> None:
    now = utc_now()
    window = {"name": "C", "from": now.isoformat(), "until": (now + timedelta(days=1)).isoformat()}
    cases = [
        (window, "reward"),
        ({**window, "reward": {"type": "percent", "rate_bps": 2500}}, "plan_id"),
        ({**window, "bonus": {"metric": "sales", "threshold": 0, "amount": 100}}, "threshold"),
        ({**window, "bonus": {"metric": "hugs", "threshold": 1, "amount": 100}}, "metric"),
        ({**window, "bonus": {"metric": "sales", "threshold": 1, "amount": -100}}, "amount"),
    ]
    for body, field in cases:
        answer = client.post("/api/v1/campaigns", json=body, headers=program.headers)
        assert answer.status_code == 422 and field in answer.text, (body, answer.text)
    assert client.get("/api/v1/campaigns", headers=program.headers).json()["data"] == []
