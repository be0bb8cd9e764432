"""GET /api/v1/reports/attribution: the same window's sales under every model, side by side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys
from tests.tracking.helpers import CHROME_ON_WINDOWS, GOOGLEBOT, eventually, make_link


def click(client: TestClient, key: str, agent: str = CHROME_ON_WINDOWS) -> str:
    location = client.get(f"/go/{key}", headers={"user-agent": agent}, follow_redirects=False).headers["location"]
    return location.split("pl_cid=")[1]


def report(client: TestClient, program: ProgramKeys, **params: Any) -> Any:
    now = datetime.now(UTC)
    window = {"from": (now - timedelta(days=30)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}
    query = {**window, **params}
    return client.get("/api/v1/reports/attribution", params=query, headers=program.headers)


def setup_plan(client: TestClient, program: ProgramKeys) -> None:
    plan = client.post("/api/v1/plans", headers=program.headers, json={
        "name": "Standard", "rules": [{"event": "sale", "reward": {"type": "percent", "rate_bps": 2000},
                   "duration": {"kind": "lifetime"}}]})  # fmt: skip
    assert plan.status_code in (200, 201), plan.text
    patch = client.patch("/api/v1/program", headers=program.headers, json={"default_plan_id": plan.json()["id"]})
    assert patch.status_code == 200, patch.text


def wait_flushed(client: TestClient, program: ProgramKeys, link_ids: list[str], total: int) -> None:
    def counted() -> bool:
        return (
            sum(client.get(f"/api/v1/links/{i}", headers=program.headers).json()["clicks"] for i in link_ids) == total
        )

    eventually(counted)


def test_two_partners_touching_one_sale_are_credited_per_model(client: TestClient, program: ProgramKeys) -> None:
    setup_plan(client, program)
    alpha = make_link(client, program, key="alpha")
    beta = make_link(client, program, key="beta")
    first, bot, last = click(client, "alpha"), click(client, "beta", GOOGLEBOT), click(client, "beta")
    wait_flushed(client, program, [alpha["id"], beta["id"]], 3)
    lead = client.post("/api/v1/track/lead", headers=program.headers,
                       json={"click_id": first, "customer_external_id": "cus_1"})  # fmt: skip
    assert lead.status_code in (200, 201), lead.text
    for click_id, invoice in ((bot, "in_0"), (last, "in_1")):
        sale = client.post("/api/v1/track/sale", headers=program.headers, json={
            "customer_external_id": "cus_1", "amount": 10001, "currency": "usd", "invoice_id": invoice,
            "click_id": click_id})  # fmt: skip
        assert sale.status_code in (200, 201), sale.text

    response = report(client, program)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["models"] == ["first_click", "last_click", "linear", "time_decay", "position"]
    assert body["conversions"] == 2
    assert body["revenue_amount"] == 20002
    assert body["commission_amount"] == 4000  # 20% of 10001, twice, as the single partner earned it
    credit = {row["partner_id"]: row["credit"] for row in body["data"]}
    a, b = alpha["partner_id"], beta["partner_id"]
    assert credit[a]["first_click"] == {"conversions_bps": 20000, "revenue_amount": 20002, "commission_amount": 4000}
    assert b not in credit or credit[b]["first_click"]["conversions_bps"] == 0
    assert credit[b]["last_click"]["conversions_bps"] == 20000
    # Each sale's odd cent goes to the partner who touched first.
    assert credit[a]["linear"] == {"conversions_bps": 10000, "revenue_amount": 10002, "commission_amount": 2000}
    assert credit[b]["linear"] == {"conversions_bps": 10000, "revenue_amount": 10000, "commission_amount": 2000}
    assert credit[a]["position"] == credit[a]["linear"]  # two touches: 50/50
    for model in body["models"]:  # every model credits exactly the window's totals
        assert sum(row["credit"][model]["commission_amount"] for row in body["data"]) == 4000
        assert sum(row["credit"][model]["revenue_amount"] for row in body["data"]) == 20002
        assert sum(row["credit"][model]["conversions_bps"] for row in body["data"]) == 20000


def test_a_window_without_sales_is_empty(client: TestClient, program: ProgramKeys) -> None:
    body = report(client, program, **{"from": "2001-01-01T00:00:00Z", "to": "2001-02-01T00:00:00Z"}).json()
    assert body["conversions"] == 0
    assert body["data"] == []


def test_bad_windows_are_422(client: TestClient, program: ProgramKeys) -> None:
    assert report(client, program, **{"from": "2020-02-01T00:00:00Z", "to": "2020-01-01T00:00:00Z"}).status_code == 422
    assert report(client, program, **{"from": "yesterday"}).status_code == 422
    assert report(client, program, half_life_days="0").status_code == 422
    assert client.get("/api/v1/reports/attribution?from=2020-01-01&to=2020-02-01").status_code == 401
