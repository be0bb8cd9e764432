"""Engagement test data through the real API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.models import Enrollment
from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys
from tests.manage.factories import convert

__all__ = ["convert", "group", "group_of", "make_partner", "make_plan", "percent_plan"]


def percent_plan(client: TestClient, program: ProgramKeys, name: str, rate_bps: int, default: bool = False) -> str:
    rules = [{"event": "sale", "reward": {"type": "percent", "rate_bps": rate_bps}, "duration": {"kind": "lifetime"}}]
    return make_plan(client, program, rules=rules, name=name, default=default)


def group(client: TestClient, program: ProgramKeys, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/groups", json=body, headers=program.headers)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def group_of(engine: Engine, partner_id: str) -> str | None:
    with transaction(engine, writes=False) as session:
        return session.execute(select(Enrollment.group_id).where(Enrollment.partner_id == partner_id)).scalar_one()
