"""POST/GET /api/v1/goals: the seed's examples as written, progress recomputed, reaching one told by email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.db import transaction
from partnerloop.goal.service import check_goals
from partnerloop.kit.time import utc_now
from tests.conftest import ProgramKeys
from tests.notify.smtp import SmtpRecorder
from tests.report.helpers import click, sale, setup_plan, wait_for_link_clicks
from tests.tracking.helpers import make_link


def iso(moment: datetime) -> str:
    return moment.isoformat()


def customers(client: TestClient, program: ProgramKeys, key: str, link_id: str, count: int, days_ago: float,
              prefix: str, *, buy: int | None = None) -> None:  # fmt: skip
    """`count` customers of the link's partner who each leave a lead; the first `buy` of them buy, `days_ago`
    days ago. With days_ago 0 they come through a click on the link now; older ones by the partner's referral
    code (a click now cannot credit a conversion in the past)."""
    at = iso(datetime.now(UTC) - timedelta(days=days_ago))
    if days_ago > 0:
        link = client.get(f"/api/v1/links/{link_id}", headers=program.headers).json()
        code = client.get(f"/api/v1/partners/{link['partner_id']}", headers=program.headers).json()["referral_code"]
        touches: list[dict[str, str]] = [{"referral_code": code} for _ in range(count)]
    else:
        clicks = [click(client, key) for _ in range(count)]
        wait_for_link_clicks(client, program, link_id, len(clicks))
        touches = [{"click_id": click_id} for click_id in clicks]
    for index, touch in enumerate(touches):
        response = client.post("/api/v1/track/lead", headers=program.headers,
                               json={**touch, "customer_external_id": f"{prefix}{index}", "occurred_at": at})  # fmt: skip
        assert response.status_code in (200, 201), response.text
        if buy is None or index < buy:
            sale(client, program, f"{prefix}{index}", f"in_{prefix}{index}", 5000, occurred_at=at)


def post(client: TestClient, program: ProgramKeys, **body: Any) -> Any:
    return client.post("/api/v1/goals", headers=program.headers, json=body)


def test_increase_new_customers_by_25_percent_in_6_months(client: TestClient, program: ProgramKeys) -> None:
    setup_plan(client, program)
    link = make_link(client, program, key="spring")
    customers(client, program, "spring", link["id"], 4, days_ago=40, prefix="old")  # the baseline: 4
    start = datetime.now(UTC) - timedelta(days=10)
    response = post(client, program, name="Grow sign-ups via partners", metric="new_customers",
                    target={"relative_pct": 25}, start=iso(start), end=iso(start + timedelta(days=182)))  # fmt: skip
    assert response.status_code == 201, response.text
    goal = response.json()
    assert goal["baseline"] == 4 and goal["target"] == {"relative_pct": 25}
    assert goal["progress"]["target"] == 5 and goal["progress"]["current"] == 0
    assert goal["progress"]["on_track"] is False
    customers(client, program, "spring", link["id"], 2, days_ago=0, prefix="new")
    again = client.get(f"/api/v1/goals/{goal['id']}", headers=program.headers).json()
    progress = again["progress"]
    assert progress["current"] == 2 and progress["ratio"] == 0.4
    assert progress["forecast"] > 30 and progress["on_track"] is True  # 2 in 10 of 182 days
    listed = client.get("/api/v1/goals", headers=program.headers).json()
    assert [item["id"] for item in listed["data"]] == [goal["id"]] and listed["next_cursor"] is None


def test_a_15_percent_conversion_rate_on_affiliate_leads(client: TestClient, program: ProgramKeys) -> None:
    setup_plan(client, program)
    link = make_link(client, program, key="leads")
    customers(client, program, "leads", link["id"], 5, days_ago=0, prefix="c", buy=1)  # 1 of 5 leads buys
    start = datetime.now(UTC) - timedelta(days=2)
    response = post(client, program, name="15% of affiliate leads convert", metric="lead_to_sale_rate",
                    target=0.15, start=iso(start), end=iso(start + timedelta(days=90)))  # fmt: skip
    assert response.status_code == 201, response.text
    progress = response.json()["progress"]
    assert progress["current"] == 0.2 and progress["target"] == 0.15 and progress["on_track"] is True
    assert progress["reached"] is False  # a rate is judged when its window ends


def test_bad_goals_are_422_naming_the_field_and_store_nothing(client: TestClient, program: ProgramKeys) -> None:
    now = datetime.now(UTC)
    good = {"name": "G", "metric": "sales", "target": 10, "end": iso(now + timedelta(days=30))}
    for change, field in (
        ({"target": 0}, "target"),
        ({"target": -3}, "target"),
        ({"metric": "happiness"}, "metric"),
        ({"metric": "conversion_rate", "target": 15}, "target"),
        ({"target": {"relative_pct": 25}}, "target"),  # nothing in the baseline window
        ({"end": iso(now - timedelta(days=1))}, "end"),
        ({"end": iso(now + timedelta(days=6 * 366))}, "end"),
        ({"partner_id": "01nosuchpartner0000000000a"}, "partner_id"),
        ({"group_id": "01nosuchgroup00000000000aa"}, "group_id"),
    ):
        response = post(client, program, **{**good, **change})
        assert response.status_code == 422, (change, response.text)
        assert response.json()["detail"].startswith(field), (change, response.text)
    missing = client.post("/api/v1/goals", headers=program.headers, json={"name": "G", "metric": "sales"})
    assert missing.status_code == 422 and "target" in missing.json()["detail"]
    assert client.get("/api/v1/goals", headers=program.headers).json()["data"] == []


def test_a_partner_goal_is_another_programs_404(client: TestClient, program: ProgramKeys,
                                                other_program: ProgramKeys) -> None:  # fmt: skip
    response = post(client, program, name="G", metric="sales", target=1, end=iso(datetime.now(UTC) + timedelta(days=3)))
    assert client.get(f"/api/v1/goals/{response.json()['id']}", headers=other_program.headers).status_code == 404


def test_reaching_a_partner_goal_records_it_and_emails_the_partner(
    mail_client: TestClient, program: ProgramKeys, engine: Engine, smtp: SmtpRecorder
) -> None:
    client = mail_client
    setup_plan(client, program)
    partner = client.post("/api/v1/partners", headers=program.headers,
                          json={"email": "ana@partners.test", "name": "Ana"}).json()  # fmt: skip
    link = make_link(client, program, key="ana", partner_id=partner["id"])
    start = datetime.now(UTC) - timedelta(days=1)
    goal = post(client, program, name="Ana: 2 sales this month", metric="sales", target=2, partner_id=partner["id"],
                start=iso(start), end=iso(start + timedelta(days=30))).json()  # fmt: skip
    customers(client, program, "ana", link["id"], 1, days_ago=0, prefix="a")
    with transaction(engine) as session:
        assert check_goals(session, utc_now()) == 0  # one sale of two
    customers(client, program, "ana", link["id"], 1, days_ago=0, prefix="b")
    with transaction(engine) as session:
        assert check_goals(session, utc_now()) == 1
    with transaction(engine) as session:
        assert check_goals(session, utc_now()) == 0  # recorded once
    body = client.get(f"/api/v1/goals/{goal['id']}", headers=program.headers).json()
    assert body["achieved_at"] is not None and body["progress"]["reached"] is True
    message = smtp.wait_for(to="ana@partners.test", subject="Goal reached")
    assert "Ana: 2 sales this month" in message.text and "target of 2" in message.text
