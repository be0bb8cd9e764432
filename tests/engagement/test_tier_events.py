"""Tier moves go to webhooks as `partner.tier_changed`, signed, one event per move, with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.engagement.service import tiers
from partnerloop.kit.time import utc_now
from partnerloop.models import Program
from partnerloop.webhook.service import configure_webhooks
from tests.conftest import ProgramKeys, make_settings
from tests.engagement.helpers import convert, group, group_of, make_partner, percent_plan
from tests.webhook.conftest import run_jobs
from tests.webhook.receiver import Receiver


@pytest.fixture
def api(engine: Engine, database_url: str) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url, allow_private_webhooks=True, run_jobs_in_process=False))
    with TestClient(app, base_url="http://testserver") as client:
        yield client
    configure_webhooks(None)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def _tier_events(engine: Engine, receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    run_jobs(engine)
    bodies = [request.verify(secret) for request in receiver.received()]
    return [body for body in bodies if body["type"] == "partner.tier_changed"]


def test_a_promotion_and_a_demotion_each_send_partner_tier_changed(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    endpoint = api.post(
        "/api/v1/webhook-endpoints",
        json={"url": receiver.url("/tiers"), "events": ["partner.tier_changed"]},
        headers=program.headers,
    )
    assert endpoint.status_code == 201, endpoint.text
    secret = endpoint.json()["secret"]
    bronze_plan = percent_plan(api, program, "Bronze plan", 1000, default=True)
    gold = group(api, program, name="Gold", plan_id=percent_plan(api, program, "Gold plan", 3000), rank=2)
    bronze = group(
        api, program, name="Bronze", plan_id=bronze_plan, rank=1,
        promotion={"metric": "sales", "period": "month", "threshold": 2, "to_group_id": gold["id"]},
    )  # fmt: skip
    api.patch(f"/api/v1/groups/{gold['id']}", headers=program.headers,
              json={"demotion": {"metric": "sales", "period": "month", "threshold": 5, "to_group_id": bronze["id"]}})  # fmt: skip
    pat = make_partner(api, program, name="Pat", group_id=bronze["id"])
    convert(api, program, pat["referral_code"], "cus_1", 10000, "in_1")
    assert _tier_events(engine, receiver, secret) == []  # one sale: no move, no event
    convert(api, program, pat["referral_code"], "cus_2", 10000, "in_2")
    promoted = _tier_events(engine, receiver, secret)
    assert group_of(engine, pat["id"]) == gold["id"]
    assert len(promoted) == 1
    data = promoted[0]["data"]
    assert (data["partner_id"], data["direction"], data["from_tier"], data["to_tier"]) == (
        pat["id"], "promotion", "Bronze", "Gold",
    )  # fmt: skip
    assert (data["from_group_id"], data["to_group_id"], data["value"], data["threshold"]) == (
        bronze["id"], gold["id"], 2, 2,
    )  # fmt: skip
    assert data["reason"].startswith("Promoted to Gold: 2 sales this month")
    with transaction(engine) as session:
        program_row = session.get(Program, program.id)
        assert program_row is not None
        tiers.evaluate(session, program_row, utc_now() + timedelta(days=70))  # a full month in Gold with 0 sales
    demoted = [event["data"] for event in _tier_events(engine, receiver, secret)]
    assert [(event["direction"], event["from_tier"], event["to_tier"]) for event in demoted][-1] == (
        "demotion", "Gold", "Bronze",
    )  # fmt: skip
    assert "below the 5 sales that Gold asks for" in demoted[-1]["reason"]
