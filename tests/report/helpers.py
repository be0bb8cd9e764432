"""Shared steps of the report, goal and alert tests: a plan, clicks through /go, leads and sales."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys
from tests.tracking.helpers import CHROME_ON_WINDOWS, eventually


def setup_plan(client: TestClient, program: ProgramKeys, rate_bps: int = 2000, lead_amount: int = 0) -> None:
    rules: list[dict[str, Any]] = [
        {"event": "sale", "reward": {"type": "percent", "rate_bps": rate_bps}, "duration": {"kind": "lifetime"}}
    ]
    if lead_amount:
        rules.append({"event": "lead", "reward": {"type": "flat", "amount": lead_amount}})
    plan = client.post("/api/v1/plans", headers=program.headers, json={"name": "Standard", "rules": rules})
    assert plan.status_code in (200, 201), plan.text
    patch = client.patch("/api/v1/program", headers=program.headers, json={"default_plan_id": plan.json()["id"]})
    assert patch.status_code == 200, patch.text


def click(client: TestClient, key: str, agent: str = CHROME_ON_WINDOWS, ip: str | None = None) -> str:
    client.cookies.clear()  # a new visitor each time (a pl_cid cookie would make the click a repeat)
    headers = {"user-agent": agent}
    if ip is not None:
        headers["x-forwarded-for"] = ip
    response = client.get(f"/go/{key}", headers=headers, follow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["location"].split("pl_cid=")[1]


def wait_for_link_clicks(client: TestClient, program: ProgramKeys, link_id: str, total: int) -> None:
    def counted() -> bool:
        return int(client.get(f"/api/v1/links/{link_id}", headers=program.headers).json()["clicks"]) >= total

    eventually(counted, timeout=5.0)


def lead(client: TestClient, program: ProgramKeys, click_id: str, customer: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/track/lead", headers=program.headers,
                           json={"click_id": click_id, "customer_external_id": customer, **extra})  # fmt: skip
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def sale(
    client: TestClient, program: ProgramKeys, customer: str, invoice: str, amount: int, **extra: Any
) -> dict[str, Any]:
    response = client.post("/api/v1/track/sale", headers=program.headers, json={
        "customer_external_id": customer, "amount": amount, "currency": "usd", "invoice_id": invoice, **extra})  # fmt: skip
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body
