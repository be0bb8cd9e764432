"""GET /api/v1/reports/partners, /timeseries and /channels: figures a manager can check by hand, CSV too."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys
from tests.report.helpers import click, lead, sale, setup_plan, wait_for_link_clicks
from tests.tracking.helpers import GOOGLEBOT, SAFARI_ON_IPHONE, make_link


def window(days: int = 7) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"from": (now - timedelta(days=days)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}


def get(client: TestClient, program: ProgramKeys, path: str, **params: Any) -> Any:
    return client.get(f"/api/v1/reports/{path}", params={**window(), **params}, headers=program.headers)


def two_partners(client: TestClient, program: ProgramKeys) -> tuple[dict[str, Any], dict[str, Any]]:
    """alpha: 3 clicks (one a bot), a lead, a customer who buys twice and refunds 20 usd; beta: one click."""
    setup_plan(client, program, rate_bps=1000)
    alpha = make_link(client, program, key="alpha")
    beta = make_link(client, program, key="beta")
    first = click(client, "alpha")
    click(client, "alpha", SAFARI_ON_IPHONE)
    click(client, "alpha", GOOGLEBOT)
    click(client, "beta")
    wait_for_link_clicks(client, program, alpha["id"], 3)
    wait_for_link_clicks(client, program, beta["id"], 1)
    lead(client, program, first, "cus_1")
    sale(client, program, "cus_1", "in_1", 10000)
    sale(client, program, "cus_1", "in_2", 5000)
    refund = client.post("/api/v1/track/refund", headers=program.headers, json={"invoice_id": "in_2", "amount": 2000})
    assert refund.status_code in (200, 201), refund.text
    return alpha, beta


def test_partner_report_answers_each_figure_and_the_totals(client: TestClient, program: ProgramKeys) -> None:
    alpha, beta = two_partners(client, program)
    response = get(client, program, "partners")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["currency"] == "usd"
    rows = {row["partner_id"]: row for row in body["data"]}
    a = rows[alpha["partner_id"]]
    assert (a["clicks"], a["unique_clicks"], a["bot_clicks"], a["leads"], a["sales"], a["new_customers"]) == (
        3, 2, 1, 1, 2, 1)  # fmt: skip
    assert (a["revenue_amount"], a["refunds_amount"], a["net_revenue_amount"]) == (15000, 2000, 13000)
    assert a["commissions_amount"] == 1500 - 200  # 10% of both sales, less the refund's reversal
    assert a["conversion_rate"] == 0.5  # one new customer over two unique clicks
    assert a["lead_to_sale_rate"] == 1.0
    assert a["epc_amount"] == 433  # 1300 / 3 clicks
    assert a["cpa_amount"] == 1300
    assert a["roi"] == round((13000 - 1300) / 1300, 4)
    b = rows[beta["partner_id"]]
    assert (b["clicks"], b["sales"], b["commissions_amount"]) == (1, 0, 0)
    assert b["roi"] is None and b["cpa_amount"] is None and b["conversion_rate"] == 0.0
    totals = body["totals"]
    assert (totals["clicks"], totals["unique_clicks"], totals["sales"], totals["commissions_amount"]) == (4, 3, 2, 1300)
    assert totals["active_partners"] == 2
    assert body["data"][0]["partner_id"] == alpha["partner_id"]  # most net revenue first


def test_partner_report_as_csv_by_suffix_and_by_accept(client: TestClient, program: ProgramKeys) -> None:
    alpha, _beta = two_partners(client, program)
    by_suffix = get(client, program, "partners.csv")
    by_accept = client.get("/api/v1/reports/partners", params=window(),
                           headers={**program.headers, "Accept": "text/csv"})  # fmt: skip
    for response in (by_suffix, by_accept):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [row["partner_id"] for row in rows][-1] == "total"
        assert next(row for row in rows if row["partner_id"] == alpha["partner_id"])["revenue_amount"] == "15000"


def test_a_group_filter_keeps_its_partners_only(client: TestClient, program: ProgramKeys) -> None:
    alpha, _beta = two_partners(client, program)
    group = client.post("/api/v1/groups", headers=program.headers, json={"name": "Gold"})
    assert group.status_code == 201, group.text
    moved = client.patch(
        f"/api/v1/partners/{alpha['partner_id']}", headers=program.headers, json={"group_id": group.json()["id"]}
    )
    assert moved.status_code in (200, 201), moved.text
    body = get(client, program, "partners", group_id=group.json()["id"]).json()
    assert [row["partner_id"] for row in body["data"]] == [alpha["partner_id"]]
    assert body["totals"]["clicks"] == 3
    assert get(client, program, "partners", group_id="nope").status_code == 404


def test_an_empty_window_is_zeros_and_nulls(client: TestClient, program: ProgramKeys) -> None:
    two_partners(client, program)
    response = client.get("/api/v1/reports/partners", headers=program.headers,
                          params={"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"})  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == []
    assert body["totals"]["clicks"] == 0 and body["totals"]["roi"] is None and body["totals"]["epc_amount"] is None
    series = client.get("/api/v1/reports/timeseries", headers=program.headers, params={
        "metric": "conversion_rate", "interval": "week", "from": "2020-01-01T00:00:00Z",
        "to": "2020-02-01T00:00:00Z"}).json()  # fmt: skip
    assert series["data"] and all(point["value"] is None for point in series["data"])


def test_bad_windows_and_unknown_metrics_are_422_naming_the_field(client: TestClient, program: ProgramKeys) -> None:
    now = datetime.now(UTC)
    backwards = {"from": now.isoformat(), "to": (now - timedelta(days=1)).isoformat()}
    too_long = {"from": (now - timedelta(days=6 * 365)).isoformat(), "to": now.isoformat()}
    for path, params, field in (
        ("partners", backwards, "to"),
        ("partners", too_long, "to"),
        ("timeseries", {**window(), "metric": "happiness"}, "metric"),
        ("timeseries", {**window(), "interval": "hour"}, "interval"),
        ("channels", {**window(), "by": "weather"}, "by"),
    ):
        response = client.get(f"/api/v1/reports/{path}", params=params, headers=program.headers)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"].startswith(f"{field}:"), response.text


def test_timeseries_puts_the_previous_period_beside_each_day(client: TestClient, program: ProgramKeys) -> None:
    two_partners(client, program)
    # a sale eight days ago, credited by the customer's earlier attribution: in the previous period
    sale(client, program, "cus_1", "in_old", 7000, occurred_at=(datetime.now(UTC) - timedelta(days=8)).isoformat())
    response = get(client, program, "timeseries", metric="revenue", interval="day")
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["data"]) in (8, 9)  # the days the window touches
    assert body["total"] == 15000 and body["previous_total"] == 7000
    assert sum(point["value"] for point in body["data"]) == 15000
    assert sum(point["previous_value"] or 0 for point in body["data"]) == 7000
    # Between 23:00 and 24:00 UTC the window (to = now + 1 h) touches one day more than its previous period:
    # that last day has no counterpart (None), every other day has one, and all of them lie before the window
    # (a mid-day boundary is in both).
    paired = [point for point in body["data"] if point["previous_start"] is not None]
    assert len(paired) >= len(body["data"]) - 1 and paired == body["data"][: len(paired)]
    assert paired[-1]["previous_start"] <= body["data"][0]["start"]
    as_csv = get(client, program, "timeseries.csv", metric="revenue")
    assert as_csv.text.splitlines()[0] == "start,value,previous_start,previous_value"


def test_channels_by_link_utm_and_source(client: TestClient, program: ProgramKeys) -> None:
    alpha, _beta = two_partners(client, program)
    patched = client.patch(f"/api/v1/links/{alpha['id']}", headers=program.headers,
                           json={"utm": {"source": "newsletter", "campaign": "spring"}})  # fmt: skip
    assert patched.status_code == 200, patched.text
    by_link = {row["channel"]: row for row in get(client, program, "channels", by="link").json()["data"]}
    assert by_link["alpha"]["clicks"] == 3 and by_link["alpha"]["sales"] == 2 and by_link["alpha"]["new_customers"] == 1
    assert by_link["alpha"]["commissions_amount"] == 1300
    assert by_link["beta"]["clicks"] == 1
    by_source = {row["channel"]: row for row in get(client, program, "channels", by="utm_source").json()["data"]}
    assert by_source["newsletter"]["revenue_amount"] == 15000 and by_source["(none)"]["clicks"] == 1
    credited = {row["channel"]: row for row in get(client, program, "channels", by="source").json()["data"]}
    assert credited["link"]["sales"] == 2 and credited["link"]["clicks"] == 4
    assert credited["link"]["commissions_amount"] == 1300
    assert get(client, program, "channels.csv", by="link").text.startswith("channel,clicks")


def test_the_partner_report_csv_hands_a_spreadsheet_no_formula(client: TestClient, program: ProgramKeys) -> None:
    """A partner's name is their own text: in the CSV it is quoted so a spreadsheet shows it, never runs it."""
    alpha, _beta = two_partners(client, program)
    renamed = client.patch(f"/api/v1/partners/{alpha['partner_id']}", headers=program.headers,
                           json={"name": '=HYPERLINK("http://evil.test","x")'})  # fmt: skip
    assert renamed.status_code == 200, renamed.text
    rows = list(csv.DictReader(io.StringIO(get(client, program, "partners.csv").text)))
    assert next(row for row in rows if row["partner_id"] == alpha["partner_id"])["name"].startswith("'=HYPERLINK")
