"""GET /api/v1/reports/cohorts: customers by the month of their first sale, and what they paid since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys
from tests.report.helpers import sale, setup_plan
from tests.tracking.helpers import make_partner


def test_cohorts_accrue_lifetime_value_month_by_month(client: TestClient, program: ProgramKeys) -> None:
    setup_plan(client, program)
    partner_id = make_partner(client, program)
    code = client.get(f"/api/v1/partners/{partner_id}", headers=program.headers).json()["referral_code"]
    for customer, when in (("cus_a", "2026-01-10T10:00:00Z"), ("cus_b", "2026-01-20T10:00:00Z"),
                           ("cus_c", "2026-02-05T10:00:00Z")):  # fmt: skip
        lead = client.post("/api/v1/track/lead", headers=program.headers,
                           json={"referral_code": code, "customer_external_id": customer, "occurred_at": when})  # fmt: skip
        assert lead.status_code in (200, 201), lead.text
    sale(client, program, "cus_a", "a1", 1000, occurred_at="2026-01-10T11:00:00Z")
    sale(client, program, "cus_b", "b1", 3000, occurred_at="2026-01-21T11:00:00Z")
    sale(client, program, "cus_a", "a2", 1000, occurred_at="2026-03-02T11:00:00Z")  # two months after its first
    sale(client, program, "cus_c", "c1", 5000, occurred_at="2026-02-05T11:00:00Z")
    refund = client.post("/api/v1/track/refund", headers=program.headers, json={"invoice_id": "b1", "amount": 1000})
    assert refund.status_code in (200, 201), refund.text
    now = datetime.now(UTC)
    window = {"from": "2026-01-01T00:00:00Z", "to": (now + timedelta(days=1)).isoformat()}
    response = client.get("/api/v1/reports/cohorts", headers=program.headers, params=window)
    assert response.status_code == 200, response.text
    cohorts = {row["cohort"]: row for row in response.json()["data"]}
    january = cohorts["2026-01"]
    assert january["customers"] == 2
    refund_month = (now.year - 2026) * 12 + now.month - 1  # the refund happens now: months after January
    paid = {month["month"]: month["net_revenue_amount"] for month in january["months"]}
    assert paid[0] == 4000 and paid[2] == 1000 and paid[refund_month] == -1000 + (1000 if refund_month == 2 else 0)
    assert [month["ltv_amount"] for month in january["months"]][:3] == [2000, 2000, 2500]
    assert january["net_revenue_amount"] == 4000 + 1000 - 1000 and january["ltv_amount"] == 2000
    assert cohorts["2026-02"]["customers"] == 1 and cohorts["2026-02"]["months"][0]["ltv_amount"] == 5000
    as_csv = client.get("/api/v1/reports/cohorts.csv", headers=program.headers, params=window)
    assert as_csv.text.splitlines()[0] == "cohort,customers,month,net_revenue_amount,ltv_amount"
    empty = client.get("/api/v1/reports/cohorts", headers=program.headers,
                       params={"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"})  # fmt: skip
    assert empty.status_code == 200 and empty.json()["data"] == []
