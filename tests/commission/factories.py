"""Plans, partners and links through the API; clicks inserted as rows (the redirect is tested elsewhere)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import Click, Commission, Customer, Event
from tests.conftest import ProgramKeys

STANDARD_RULES: list[dict[str, Any]] = [
    {"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}, "duration": {"kind": "months", "months": 12}},
    {"event": "lead", "reward": {"type": "flat", "amount": 500}},
]


def make_plan(
    client: TestClient,
    program: ProgramKeys,
    rules: list[dict[str, Any]] | None = None,
    name: str = "Standard",
    default: bool = True,
) -> str:
    response = client.post(
        "/api/v1/plans", json={"name": name, "rules": rules or STANDARD_RULES}, headers=program.headers
    )
    assert response.status_code == 201, response.text
    plan_id = str(response.json()["id"])
    if default:
        patched = client.patch("/api/v1/program", json={"default_plan_id": plan_id}, headers=program.headers)
        assert patched.status_code == 200, patched.text
    return plan_id


def make_partner(client: TestClient, program: ProgramKeys, **fields: Any) -> dict[str, Any]:
    body = {"email": f"p-{uuid.uuid4().hex[:8]}@example.com", "name": "Pat Partner", **fields}
    response = client.post("/api/v1/partners", json=body, headers=program.headers)
    assert response.status_code == 201, response.text
    partner: dict[str, Any] = response.json()
    return partner


def make_click(
    client: TestClient,
    engine: Engine,
    program: ProgramKeys,
    partner_id: str,
    *,
    at: datetime | None = None,
    is_bot: bool = False,
    domain: str = "acme.test",
) -> str:
    """A click row of the partner's (new) link, made `at` (default: a minute ago)."""
    link = client.post(
        "/api/v1/links",
        json={"partner_id": partner_id, "destination_url": f"https://{domain}/"},
        headers=program.headers,
    )
    assert link.status_code == 201, link.text
    with transaction(engine) as session:
        click = Click(
            program_id=program.id,
            link_id=link.json()["id"],
            partner_id=partner_id,
            created_at=at or utc_now() - timedelta(minutes=1),
            is_bot=is_bot,
        )
        session.add(click)
        session.flush()
        return click.id


def counts(engine: Engine) -> dict[str, int]:
    """Rows in the tables tracking writes to: a refused request must leave these unchanged."""
    with transaction(engine, writes=False) as session:
        return {
            "customers": session.execute(select(func.count()).select_from(Customer)).scalar_one(),
            "events": session.execute(select(func.count()).select_from(Event)).scalar_one(),
            "commissions": session.execute(select(func.count()).select_from(Commission)).scalar_one(),
        }


def set_commission_status(engine: Engine, commission_id: str, status: str) -> None:
    """For states no endpoint of ours reaches yet (paid is set by payouts)."""
    with transaction(engine) as session:
        commission = session.get(Commission, commission_id)
        assert commission is not None
        commission.status = status
