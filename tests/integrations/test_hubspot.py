"""HubSpot CRM: a program connects a private-app token; the outbox's fan-out turns partner, sale and
commission events into one `hubspot.sync` job per program and fan-out, which upserts partners (by email,
with program, group, revenue and earnings), referred customers (associated with their partner) and sales
(deals) into a loopback server speaking HubSpot's batch APIs. A 429's Retry-After is honoured."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import HubSpotConnection, Job
from partnerloop.webhook.service import configure_webhooks
from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys, make_settings
from tests.integrations.hubspot_server import HubSpotServer, Refusal
from tests.webhook.conftest import run_jobs

URL = "/api/v1/integrations/hubspot"
TOKEN = "pat-na1-11112222-3333-4444-5555-secretwxyz"


@pytest.fixture
def hubspot() -> Iterator[HubSpotServer]:
    server = HubSpotServer().start()
    yield server
    server.stop()


@pytest.fixture
def api(engine: Engine, database_url: str, hubspot: HubSpotServer) -> Iterator[TestClient]:
    settings = make_settings(database_url, allow_private_integrations=True, run_jobs_in_process=False,
                             hubspot_api_base=hubspot.url)  # fmt: skip
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        yield client
    configure_webhooks(None)


def _stored(engine: Engine) -> list[HubSpotConnection]:
    with transaction(engine, writes=False) as session:
        return list(session.execute(select(HubSpotConnection)).scalars())


@pytest.mark.parametrize(
    "body",
    [{}, {"access_token": "not-a-token"}, {"access_token": "pat-na1 with spaces"}, {"access_token": 7}],
    ids=["no token", "not a private-app token", "spaces", "not a string"],
)
def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(
    api: TestClient, program: ProgramKeys, engine: Engine, body: dict[str, object]
) -> None:
    response = api.put(URL, json=body, headers=program.headers)
    assert response.status_code == 422, response.text
    assert "access_token" in response.text
    assert _stored(engine) == []


def test_token_is_encrypted_masked_and_disconnect_stops_the_sync(
    api: TestClient, program: ProgramKeys, engine: Engine, hubspot: HubSpotServer
) -> None:
    assert api.get(URL, headers=program.headers).json()["connected"] is False
    response = api.put(URL, json={"access_token": TOKEN}, headers=program.headers)
    assert response.status_code == 200, response.text
    shown = api.get(URL, headers=program.headers).json()
    assert shown["connected"] is True and shown["access_token"] == "pat-…wxyz"
    assert "secret" not in _stored(engine)[0].token_encrypted
    assert api.put(URL, json={}, headers=program.headers).status_code == 200  # keeps the stored token
    assert api.delete(URL, headers=program.headers).status_code == 204
    assert api.get(URL, headers=program.headers).json()["connected"] is False
    make_partner(api, program)
    run_jobs(engine)
    assert hubspot.requests == []


def test_partners_customers_and_sales_are_upserted_in_batches_with_retry_after_honoured(
    api: TestClient, program: ProgramKeys, engine: Engine, hubspot: HubSpotServer
) -> None:
    assert api.put(URL, json={"access_token": TOKEN}, headers=program.headers).status_code == 200
    make_plan(api, program)
    partner = make_partner(api, program, name="Ada Lovelace")
    lead = api.post(
        "/api/v1/track/lead",
        headers=program.headers,
        json={"referral_code": partner["referral_code"], "customer_external_id": "cus_1", "name": "Bo"},
    )
    assert lead.status_code == 200, lead.text
    sale = api.post(
        "/api/v1/track/sale",
        headers=program.headers,
        json={"customer_external_id": "cus_1", "amount": 10000, "currency": "usd", "invoice_id": "in_1"},
    )
    assert sale.status_code == 200, sale.text  # fmt: skip
    earned = sum(row["earnings_amount"] for row in lead.json()["commissions"] + sale.json()["commissions"])
    assert earned > 0
    hubspot.refusals = [Refusal(429, {"Retry-After": "2"})]

    run_jobs(engine)  # the fan-out: ONE sync job for all of the program's events, refused once
    assert len(hubspot.requests) == 1
    assert "429" in (_stored(engine)[0].last_error or "")
    run_jobs(engine, now=utc_now() + timedelta(seconds=1))
    assert len(hubspot.requests) == 1  # Retry-After: 2 s not yet passed
    run_jobs(engine, now=utc_now() + timedelta(seconds=3))

    paths = [request.path for request in hubspot.requests[1:]]
    assert paths == [
        "/crm/v3/objects/contacts/batch/upsert",  # the partner, by email
        "/crm/v3/objects/contacts/batch/upsert",  # the referred customer, by partnerloop_id
        "/crm/v3/objects/deals/batch/upsert",
        "/crm/v4/associations/contacts/contacts/batch/associate/default",
        "/crm/v4/associations/deals/contacts/batch/associate/default",
    ]
    assert {request.authorization for request in hubspot.requests} == {f"Bearer {TOKEN}"}
    ada = hubspot.by("contacts", "email", partner["email"])
    assert ada["firstname"] == "Ada" and ada["lastname"] == "Lovelace" and ada["partnerloop_role"] == "partner"
    assert ada["partnerloop_revenue"] == "100.00" and ada["partnerloop_earnings"] == f"{earned / 100:.2f}"
    customer_id = lead.json()["customer"]["id"]
    bo = hubspot.by("contacts", "partnerloop_id", customer_id)
    assert bo["firstname"] == "Bo" and bo["partnerloop_customer_id"] == "cus_1"
    deal = hubspot.by("deals", "partnerloop_id", sale.json()["sale"]["id"])
    assert deal["amount"] == "100.00" and deal["deal_currency_code"] == "USD" and deal["dealstage"] == "closedwon"
    ids = hubspot.keys
    partner_hs = ids[("contacts", "email", partner["email"].lower())]
    customer_hs = ids[("contacts", "partnerloop_id", customer_id.lower())]
    deal_hs = ids[("deals", "partnerloop_id", sale.json()["sale"]["id"].lower())]
    assert hubspot.associations == [("contacts", customer_hs, "contacts", partner_hs),
                                    ("deals", deal_hs, "contacts", customer_hs)]  # fmt: skip
    stored = _stored(engine)[0]
    assert stored.last_error is None and stored.last_synced_at is not None
    with transaction(engine, writes=False) as session:
        assert session.execute(select(Job).where(Job.kind == "hubspot.sync", Job.status != "done")).first() is None


def test_a_revoked_token_is_recorded_and_not_retried(
    api: TestClient, program: ProgramKeys, engine: Engine, hubspot: HubSpotServer
) -> None:
    assert api.put(URL, json={"access_token": TOKEN}, headers=program.headers).status_code == 200
    hubspot.refusals = [Refusal(401)]
    make_partner(api, program)
    run_jobs(engine)
    run_jobs(engine, now=utc_now() + timedelta(hours=3))
    assert len(hubspot.requests) == 1
    assert "HubSpot answered 401" in (_stored(engine)[0].last_error or "")
