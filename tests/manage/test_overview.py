"""The overview: KPIs against the previous period, charts, top partners, what waits, recent activity."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import Commission, Customer, Event
from tests.conftest import ProgramKeys
from tests.manage.factories import as_owner, click, convert, make_partner, make_plan


def test_overview_shows_the_period_against_the_previous_one(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    make_plan(client, program)  # 20% of sales, 5.00 per lead
    jane = make_partner(client, program, name="Jane Cooper")
    make_partner(client, program, name="Quiet Quinn")
    click(client, program, jane["id"], "jane-spring", times=4)
    convert(client, program, jane["referral_code"], "cus_1", 10000, "in_1")
    convert(client, program, jane["referral_code"], "cus_2", 5000, "in_2")
    convert(client, program, jane["referral_code"], "cus_3", 20000, "in_3")
    # The third customer's lead, sale and commissions happened 40 days ago: in the previous 30-day period.
    moved = utc_now() - timedelta(days=40)
    with transaction(engine) as session:
        customer_id = session.execute(select(Customer.id).where(Customer.external_id == "cus_3")).scalar_one()
        session.execute(update(Event).where(Event.customer_id == customer_id).values(occurred_at=moved))
        session.execute(update(Commission).where(Commission.customer_id == customer_id).values(occurred_at=moved))

    as_owner(client)
    page = client.get(f"/manage?program={program.id}&days=30")
    assert page.status_code == 200
    text = page.text
    kpi = _kpis(text)
    assert kpi["Clicks"] == "4"
    assert kpi["Sales"] == "2"
    assert kpi["Revenue from partners"] == "$150.00"
    assert kpi["Sales per click"] == "50.0%"  # 2 sales / 4 clicks
    assert kpi["Commission per sale"].startswith("$")
    assert "before: $200.00" in text  # the previous period's revenue
    assert "Jane Cooper" in text and "Quiet Quinn" not in text.split("Top partners")[1].split("Recent activity")[0]
    assert text.count("<svg") == 2 and "Clicks per day" in text
    assert "Sale of $100.00" in text  # recent activity


def _kpis(html: str) -> dict[str, str]:
    import re

    pairs = re.findall(r'<span class="kpi-name">([^<]+)</span>\s*<strong>([^<]+)</strong>', html)
    return dict(pairs)


def test_the_overview_lists_what_waits_for_a_decision(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)
    make_partner(client, program, name="Applicant Ann", status="pending")
    jane = make_partner(client, program, name="Jane")
    convert(client, program, jane["referral_code"], "cus_1", 10000, "in_1")
    as_owner(client)
    text = client.get("/manage").text
    assert "1 partner application to review" in text
    assert "2 pending commissions" in text  # the lead's and the sale's


def test_a_bad_period_is_explained_and_the_default_is_shown(client: TestClient, program: ProgramKeys) -> None:
    as_owner(client)
    page = client.get("/manage?start=2026-13-01")
    assert page.status_code == 200 and "Dates are written YYYY-MM-DD." in page.text
    reversed_period = client.get("/manage?start=2026-05-01&end=2026-04-01")
    assert "ends before it starts" in reversed_period.text
    year = client.get("/manage?start=2025-01-01&end=2025-12-31")
    assert year.status_code == 200 and "Clicks per week" in year.text  # 365 bars would not fit a phone
    decade = client.get("/manage?start=2016-01-01&end=2025-12-31")
    assert "Clicks per month" in decade.text


def test_the_old_dashboard_address_leads_to_the_overview(client: TestClient, program: ProgramKeys) -> None:
    as_owner(client)
    assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/manage"
    assert client.get("/", follow_redirects=False).headers["location"] == "/manage"


def test_a_german_viewer_reads_amounts_with_german_separators_and_the_one_date_format(
    client: TestClient, program: ProgramKeys
) -> None:
    make_plan(client, program)
    jane = make_partner(client, program, name="Jane Cooper")
    convert(client, program, jane["referral_code"], "cus_1", 123450, "in_1")
    as_owner(client)

    german = client.get(f"/manage?program={program.id}&days=30", headers={"Accept-Language": "de-DE,de;q=0.9"}).text
    english = client.get(f"/manage?program={program.id}&days=30").text

    assert _kpis(german)["Revenue from partners"] == "1.234,50\xa0$"
    assert _kpis(english)["Revenue from partners"] == "$1,234.50"
    assert "Sale of $1,234.50" in english and "USD" not in _kpis(english)["Revenue from partners"]
    today = utc_now()
    assert f"{today.day} {today:%b %Y}, " in english  # recent activity: '4 Dec 2026, 14:05 UTC'
    assert today.strftime("%Y-%m-%d %H:%M") not in english


def test_the_overview_and_the_reports_show_the_same_roi(client: TestClient, program: ProgramKeys) -> None:
    import re

    make_plan(client, program)  # 20% of sales, 5.00 per lead
    jane = make_partner(client, program, name="Jane Cooper")
    convert(client, program, jane["referral_code"], "cus_1", 10000, "in_1")
    convert(client, program, jane["referral_code"], "cus_2", 5000, "in_2")
    as_owner(client)

    overview = _kpis(client.get(f"/manage?program={program.id}&days=30").text)["ROI"]
    reports = client.get(f"/manage/reports?program={program.id}&days=30").text
    total = re.search(r'data-total="roi">([^<]+)<', reports)
    assert total, "the reports' totals have an ROI"
    # (150.00 net revenue − 40.00 commissions: 2 × 5.00 + 20% of 150.00) ÷ 40.00
    assert overview == total.group(1) == "2.75×"
