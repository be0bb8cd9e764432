"""Dashboard test data through the real API (plans, partners, leads, sales) and logged-in browsers."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.models import ClickRollup
from tests.account.factories import PASSWORD, add_member
from tests.account.helpers import csrf_of, login
from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys

OWNER = "owner-acme@example.com"

__all__ = ["OWNER", "PASSWORD", "add_member", "make_partner", "make_plan"]


def as_owner(client: TestClient) -> TestClient:
    response = login(client, OWNER, PASSWORD)
    assert response.status_code == 303, response.text
    return client


def as_member(client: TestClient, engine: Engine, program: ProgramKeys, role: str) -> TestClient:
    email = f"{role}-{program.id[-6:]}@acme.test"
    add_member(engine, program.workspace_id, email, role)
    response = login(client, email, PASSWORD)
    assert response.status_code == 303, response.text
    return client


def convert(
    client: TestClient, program: ProgramKeys, referral_code: str, customer: str, amount: int, invoice: str
) -> dict[str, Any]:
    """A lead by referral code, then a sale; returns the sale's answer."""
    lead = client.post(
        "/api/v1/track/lead",
        json={"referral_code": referral_code, "customer_external_id": customer, "email": f"{customer}@buyer.test"},
        headers=program.headers,
    )
    assert lead.status_code in (200, 201), lead.text
    sale = client.post(
        "/api/v1/track/sale",
        json={"customer_external_id": customer, "amount": amount, "currency": "usd", "invoice_id": invoice},
        headers=program.headers,
    )
    assert sale.status_code in (200, 201), sale.text
    answer: dict[str, Any] = sale.json()
    return answer


def click(client: TestClient, program: ProgramKeys, partner_id: str, key: str, times: int = 1) -> None:
    """Real clicks through /go/{key}; waits (up to 10 s) until the flusher has rolled them up."""
    link = client.post(
        "/api/v1/links",
        json={"partner_id": partner_id, "destination_url": "https://acme.test/", "key": key},
        headers=program.headers,
    )
    assert link.status_code == 201, link.text
    for _ in range(times):
        assert client.get(f"/go/{key}", follow_redirects=False).status_code == 302
    engine = client.app.runtime.engine  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while True:
        with transaction(engine, writes=False) as session:
            total = session.execute(
                select(func.coalesce(func.sum(ClickRollup.clicks), 0)).where(ClickRollup.link_id == link.json()["id"])
            ).scalar_one()
        if total >= times:
            return
        assert time.monotonic() < deadline, "clicks were not flushed within 10 s"
        time.sleep(0.05)


def form_post(client: TestClient, page: str, action: str, data: dict[str, Any] | list[tuple[str, str]]) -> Any:
    """Submit a form found on `page` to `action` with its CSRF token, as a browser would."""
    token = csrf_of(client.get(page).text)
    if isinstance(data, dict):
        data = [(key, str(value)) for key, value in data.items()]
    body = "&".join(f"{_quote(key)}={_quote(value)}" for key, value in [*data, ("csrf_token", token)])
    return client.post(
        action,
        content=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def _quote(text: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(text)
