"""The dashboard's reports, goals and alerts pages, and the partner's own goals in the portal."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.account.factories import PASSWORD, add_partner_user
from tests.account.helpers import login
from tests.conftest import ProgramKeys
from tests.manage.factories import as_owner, click, convert, form_post, make_partner, make_plan


def test_reports_page_shows_partners_with_totals_a_chart_and_channels(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)  # 20% of sales, 5.00 per lead
    jane = make_partner(client, program, name="Jane Cooper")
    omar = make_partner(client, program, name="Omar Diaz")
    click(client, program, jane["id"], "jane-spring", times=4)
    click(client, program, omar["id"], "omar", times=1)
    convert(client, program, jane["referral_code"], "cus_1", 10000, "in_1")
    as_owner(client)
    page = client.get(f"/manage/reports?program={program.id}&days=30&sort=clicks&dir=asc")
    assert page.status_code == 200, page.text
    html = page.text
    rows = re.findall(r'<tr data-partner="([^"]+)">', html)
    assert rows == [omar["id"], jane["id"]]  # sorted by clicks, ascending
    assert 'data-total="clicks">5<' in html and 'data-total="revenue_amount">$100.00<' in html
    assert 'title="Customers with a first sale ÷ unique clicks."' in html  # the definition on hover
    assert html.count("<svg") == 1 and "previous period" in html
    assert "jane-spring" in html  # the channels table, by link
    assert 'data-report="cohorts"' in html and "+0 mo" in html  # this month's customers, their value so far
    assert "Conversion rate" in html.split('id="definitions"')[1]
    by_group = client.get(f"/manage/reports?program={program.id}&group_id=nope")
    assert by_group.status_code == 200  # an unknown group shows everyone
    exported = client.get(f"/manage/reports/partners.csv?program={program.id}&days=30")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert {row["name"] for row in table} == {"Jane Cooper", "Omar Diaz", ""} and table[-1]["partner_id"] == "total"
    series = client.get(f"/manage/reports?program={program.id}&metric=conversion_rate&interval=week")
    assert series.status_code == 200 and "Conversion rate per week" in series.text
    channels = client.get(f"/manage/reports/channels.csv?program={program.id}&by=link")
    assert channels.status_code == 200 and "jane-spring" in channels.text


def test_the_reports_page_lists_the_first_partners_in_its_order_and_totals_everyone(
    client: TestClient, program: ProgramKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With thousands of active partners the page lists PARTNER_ROWS of them (here 1) in the chosen order,
    says how many more the CSV has, and its totals still count every partner."""
    from partnerloop.manage.views import reports

    make_plan(client, program)
    jane = make_partner(client, program, name="Jane Cooper")
    omar = make_partner(client, program, name="Omar Diaz")
    click(client, program, jane["id"], "jane-spring", times=4)
    click(client, program, omar["id"], "omar", times=1)
    monkeypatch.setattr(reports, "PARTNER_ROWS", 1)
    as_owner(client)
    html = client.get(f"/manage/reports?program={program.id}&days=30&sort=clicks&dir=asc").text
    assert re.findall(r'<tr data-partner="([^"]+)">', html) == [omar["id"]]
    assert "The first 1 in this order are listed; 1 more are in the CSV." in html
    assert 'data-total="clicks">5<' in html
    exported = client.get(f"/manage/reports/partners.csv?program={program.id}&days=30").text
    assert "Jane Cooper" in exported and "Omar Diaz" in exported


def test_a_goal_set_on_the_goals_page_shows_on_the_overview(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)
    as_owner(client)
    goals_page = f"/manage/goals?program={program.id}"
    refused = form_post(client, goals_page, goals_page, {"name": "Nothing", "metric": "sales", "target_kind": "absolute",
                                                         "target": "0", "end": "2030-01-01"})  # fmt: skip
    assert refused.status_code == 422 and "target must be above 0" in refused.text
    made = form_post(client, goals_page, goals_page, {"name": "15% of affiliate leads convert",
                                                      "metric": "lead_to_sale_rate", "target_kind": "absolute",
                                                      "target": "15", "end": "2030-01-01"})  # fmt: skip
    assert made.status_code == 303, made.text
    listed = client.get(goals_page).text
    assert "15% of affiliate leads convert" in listed and "15.0 %" in listed
    overview = client.get(f"/manage?program={program.id}").text
    assert "15% of affiliate leads convert" in overview.split('id="goals-h"')[1]
    api = client.get("/api/v1/goals", headers=program.headers).json()["data"]
    assert [(goal["metric"], goal["target"]) for goal in api] == [("lead_to_sale_rate", 0.15)]


def test_with_many_partners_a_goal_names_its_partner_by_email(
    client: TestClient, program: ProgramKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond PARTNER_CHOICES partners (here 1) the form asks for the partner's email instead of listing
    everyone; an unknown email is refused by name and sets nothing."""
    from partnerloop.manage.views import goals

    make_plan(client, program)
    jane = make_partner(client, program, name="Jane Cooper")
    make_partner(client, program, name="Omar Diaz")
    monkeypatch.setattr(goals, "PARTNER_CHOICES", 1)
    as_owner(client)
    goals_page = f"/manage/goals?program={program.id}"
    html = client.get(goals_page).text
    assert 'value="partner-email"' in html and "Partner: Jane Cooper" not in html
    body = {"name": "Jane's sales", "metric": "sales", "target_kind": "absolute", "target": "10",
            "end": "2030-01-01", "scope": "partner-email"}  # fmt: skip
    refused = form_post(client, goals_page, goals_page, {**body, "partner_email": "nobody@p.test"})
    assert refused.status_code == 422 and "partner_email: no partner has the email nobody@p.test" in refused.text
    assert client.get("/api/v1/goals", headers=program.headers).json()["data"] == []
    made = form_post(client, goals_page, goals_page, {**body, "partner_email": jane["email"]})
    assert made.status_code == 303, made.text
    api = client.get("/api/v1/goals", headers=program.headers).json()["data"]
    assert [(goal["name"], goal["partner_id"]) for goal in api] == [("Jane's sales", jane["id"])]


def test_the_alert_queue_shows_the_evidence_and_a_manager_resolves_it(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)
    jane = make_partner(client, program, name="Jane Cooper")
    lead = client.post("/api/v1/track/lead", headers=program.headers, json={
        "referral_code": jane["referral_code"], "customer_external_id": "cus_jane", "email": jane["email"]})  # fmt: skip
    assert lead.json()["commissions"][0]["status"] == "on_hold"
    as_owner(client)
    overview = client.get(f"/manage?program={program.id}").text
    assert "1 open alert to review" in overview and "(1 possible fraud)" in overview
    queue = client.get(f"/manage/alerts?program={program.id}").text
    alert_id = re.findall(r'data-alert="([^"]+)" data-kind="self_referral"', queue)[0]
    detail_url = f"/manage/alerts/{alert_id}?program={program.id}"
    detail = client.get(detail_url).text
    assert "matches the partner&#39;s own email" in detail and "Commissions this alert holds" in detail
    assert "on hold: alert self_referral" in detail
    resolved = form_post(client, detail_url, detail_url, {"action": "resolve", "note": "her own sign-up",
                                                          "commissions": "reject"})  # fmt: skip
    assert resolved.status_code == 303, resolved.text
    assert 'data-kind="self_referral"' not in client.get(f"/manage/alerts?program={program.id}").text
    closed = client.get(detail_url).text
    assert "her own sign-up" in closed and "rejected" in closed
    saved = form_post(client, f"/manage/alerts?program={program.id}", f"/manage/alerts-settings?program={program.id}",
                      {"bot_share": "2"})  # fmt: skip
    assert saved.status_code == 422 and "bot_share" in saved.text


def test_a_partner_sees_their_own_goals_only(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    make_plan(client, program)
    _user, partner_id = add_partner_user(engine, program.id, "pat@creator.example", name="Pat")
    end = "2030-01-01T00:00:00Z"
    mine = client.post("/api/v1/goals", headers=program.headers,
                       json={"name": "Pat: 10 sales", "metric": "sales", "target": 10, "partner_id": partner_id,
                             "end": end})  # fmt: skip
    assert mine.status_code == 201, mine.text
    client.post("/api/v1/goals", headers=program.headers, json={"name": "Program-wide revenue", "metric": "revenue",
                                                                 "target": 100000, "end": end})  # fmt: skip
    assert login(client, "pat@creator.example", PASSWORD).status_code == 303
    dashboard = client.get("/partner").text
    assert "Your goals" in dashboard and "Pat: 10 sales" in dashboard and "Program-wide revenue" not in dashboard
