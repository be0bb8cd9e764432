"""Referral tests: the app with Stripe's API on loopback (recording) and a real SMTP server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.app import create_app
from tests.conftest import ProgramKeys, make_settings
from tests.integrations.stripe_kit import FakeStripe, stripe_api_server
from tests.notify.smtp import SmtpRecorder, smtp  # noqa: F401

REWARDS: dict[str, Any] = {
    "trigger": "sale",
    "referrer": {"type": "credit", "amount": 2000},
    "friend": {"type": "percent_off", "percent": 20, "duration_months": 3},
    "limit_per_advocate": 10,
}


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with stripe_api_server() as server:
        yield server


@pytest.fixture
def stripe_client(
    engine: Engine,
    database_url: str,
    fake_stripe: FakeStripe,
    smtp: SmtpRecorder,  # noqa: F811
) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url, stripe_api_base=fake_stripe.url, smtp_url=smtp.url))
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def set_rewards(client: TestClient, program: ProgramKeys, stripe: bool = False, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"referral_rewards": {**REWARDS, **overrides}}
    if stripe:
        body["stripe_secret_key"] = "sk_test_partnerloop"
    response = client.patch("/api/v1/program", json=body, headers=program.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def make_advocate(
    client: TestClient, program: ProgramKeys, external_id: str = "cus_ada", **fields: Any
) -> dict[str, Any]:
    body = {"customer_external_id": external_id, "email": f"{external_id}@example.com", "name": "Ada", **fields}
    response = client.post("/api/v1/advocates", json=body, headers=program.headers)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def friend_sale(
    client: TestClient, program: ProgramKeys, advocate: dict[str, Any], friend: str, invoice: str, amount: int = 5000
) -> dict[str, Any]:
    """The friend signs up with the advocate's code, then buys."""
    lead = client.post(
        "/api/v1/track/lead",
        json={
            "referral_code": advocate["referral_code"],
            "customer_external_id": friend,
            "email": f"{friend}@friends.test",
        },
        headers=program.headers,
    )
    assert lead.status_code in (200, 201), lead.text
    sale = client.post(
        "/api/v1/track/sale",
        json={"customer_external_id": friend, "amount": amount, "currency": "usd", "invoice_id": invoice},
        headers=program.headers,
    )
    assert sale.status_code in (200, 201), sale.text
    return dict(sale.json())


def rewards(client: TestClient, program: ProgramKeys, **query: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/rewards", params={"limit": "100", **query}, headers=program.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def wait_until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not reached within {timeout}s: {check()!r}")
