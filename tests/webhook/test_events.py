"""Each change of the contract emits its event with the API's own resource shape, in the same
transaction; a rolled-back change sends nothing; one program's events never reach another's endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.commission.schemas import CommissionOut
from partnerloop.conversion.schemas import LeadOut, RefundOut, SaleOut
from partnerloop.db import transaction
from partnerloop.engagement.schemas import TierMoveOut
from partnerloop.models import Job, Program, WebhookDelivery, WebhookEvent
from partnerloop.partner.schemas import PartnerOut
from partnerloop.payout.schemas import PayoutOut
from partnerloop.webhook.catalogue import EVENT_TYPES
from partnerloop.webhook.service import DELIVER_JOB, FANOUT_JOB, emit
from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys
from tests.payout.helpers import earn, partner_with_method
from tests.webhook.conftest import run_jobs
from tests.webhook.receiver import Receiver

SCHEMAS: dict[str, Any] = {
    "Partner": PartnerOut,
    "Lead": LeadOut,
    "Sale": SaleOut,
    "Refund": RefundOut,
    "Commission": CommissionOut,
    "Payout": PayoutOut,
    "TierMove": TierMoveOut,
}


def _subscribe(api: TestClient, program: ProgramKeys, receiver: Receiver, events: list[str] | None = None) -> str:
    response = api.post(
        "/api/v1/webhook-endpoints",
        json={"url": receiver.url(f"/{program.id}"), "events": events or ["*"]},
        headers=program.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["secret"])


def _delivered(engine: Engine, receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    run_jobs(engine)
    return [request.verify(secret) for request in receiver.received()]


@pytest.mark.parametrize("event", [event for event in EVENT_TYPES if event.resource in SCHEMAS], ids=lambda e: e.type)
def test_each_catalogue_example_has_its_resource_shape(event: Any) -> None:
    schema = SCHEMAS[event.resource]
    assert set(event.example) == set(schema.model_fields)
    schema.model_validate(event.example)


def test_partner_lead_sale_commission_refund_events(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    secret = _subscribe(api, program, receiver)
    make_plan(api, program)
    partner = make_partner(api, program, status="pending")
    approved = api.post(f"/api/v1/partners/{partner['id']}/approve", headers=program.headers)
    assert approved.status_code == 200, approved.text
    lead = api.post(
        "/api/v1/track/lead",
        json={"referral_code": partner["referral_code"], "customer_external_id": "cus_1"},
        headers=program.headers,
    )
    assert lead.status_code == 200, lead.text
    sale = api.post(
        "/api/v1/track/sale",
        json={"customer_external_id": "cus_1", "amount": 10000, "currency": "usd", "invoice_id": "in_1"},
        headers=program.headers,
    )
    assert sale.status_code == 200, sale.text
    again = api.post(
        "/api/v1/track/sale",
        json={"customer_external_id": "cus_1", "amount": 10000, "currency": "usd", "invoice_id": "in_1"},
        headers=program.headers,
    )
    assert again.status_code == 200
    sale_commission = sale.json()["commissions"][0]
    approve = api.post(f"/api/v1/commissions/{sale_commission['id']}/approve", headers=program.headers)
    assert approve.status_code == 200, approve.text
    refund = api.post("/api/v1/track/refund", json={"invoice_id": "in_1", "amount": 5000}, headers=program.headers)
    assert refund.status_code == 200, refund.text

    payloads = _delivered(engine, receiver, secret)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for payload in payloads:
        by_type.setdefault(payload["type"], []).append(payload["data"])
    assert by_type["partner.created"] == [{**partner, "status": "pending"}]
    assert [row["status"] for row in by_type["partner.approved"]] == ["approved"]
    assert by_type["lead.created"] == [lead.json()["lead"]]
    assert by_type["sale.created"] == [sale.json()["sale"]]  # the repeated invoice sent nothing
    created = {row["id"]: row for row in by_type["commission.created"]}
    assert set(created) == {c["id"] for c in lead.json()["commissions"]} | {sale_commission["id"]}
    assert created[sale_commission["id"]] == sale_commission
    assert [row["id"] for row in by_type["commission.approved"]] == [sale_commission["id"]]
    assert by_type["commission.approved"][0]["status"] == "approved"
    assert by_type["refund.created"] == [refund.json()["refund"]]
    (reversal,) = by_type["commission.reversed"]
    assert reversal["reverses_id"] == sale_commission["id"] and reversal["earnings_amount"] == -1000
    for schema_name, event_type in (("Partner", "partner.created"), ("Sale", "sale.created")):
        SCHEMAS[schema_name].model_validate(by_type[event_type][0])
    ids = [request.headers["webhook-id"] for request in receiver.received()]
    assert len(set(ids)) == len(ids)


def test_payout_paid_and_failed_events(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    first = partner_with_method(api, program, {"type": "paypal", "email": "one@example.com"})
    second = partner_with_method(api, program, {"type": "paypal", "email": "two@example.com"})
    earn(api, program, first, 8000)
    earn(api, program, second, 6000)
    secret = _subscribe(api, program, receiver, ["payout.paid", "payout.failed"])
    confirmed = api.post("/api/v1/payouts/runs", json={"preview": False}, headers=program.headers)
    assert confirmed.status_code == 200, confirmed.text
    payouts = {payout["partner_id"]: payout for payout in confirmed.json()["payouts"]}
    paid = api.post(
        f"/api/v1/payouts/{payouts[first]['id']}/mark-paid", json={"reference": "PP-1"}, headers=program.headers
    )
    failed = api.post(
        f"/api/v1/payouts/{payouts[second]['id']}/mark-failed", json={"reason": "closed"}, headers=program.headers
    )
    assert paid.status_code == 200 and failed.status_code == 200, (paid.text, failed.text)
    payloads = _delivered(engine, receiver, secret)
    assert sorted((p["type"], p["data"]["id"]) for p in payloads) == sorted(
        [("payout.paid", payouts[first]["id"]), ("payout.failed", payouts[second]["id"])]
    )
    by_type = {payload["type"]: payload["data"] for payload in payloads}
    assert by_type["payout.paid"] == paid.json() and by_type["payout.failed"] == failed.json()


def test_a_rolled_back_change_sends_nothing(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    _subscribe(api, program, receiver)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        emit(session, program.id, "sale.created", {"id": "x"})
        raise RuntimeError("the change failed after emitting")
    rate = {"date": "2026-01-01", "base": "eur", "quote": "usd", "rate": "1000000000000"}
    assert api.post("/api/v1/fx-rates", json=rate, headers=program.headers).status_code == 201
    refused = api.post(
        "/api/v1/track/sale",
        json={"customer_external_id": "c", "amount": 10**13, "currency": "eur", "invoice_id": "in_x"},
        headers=program.headers,
    )
    assert refused.status_code == 422, refused.text  # beyond the largest amount: the whole request rolls back
    duplicate = api.post("/api/v1/partners", json={"email": "a@example.com", "name": "A"}, headers=program.headers)
    assert duplicate.status_code == 201
    again = api.post("/api/v1/partners", json={"email": "a@example.com", "name": "A"}, headers=program.headers)
    assert again.status_code == 409
    with transaction(engine, writes=False) as session:  # the outbox holds the committed event alone
        outbox = list(session.execute(select(Job.payload).where(Job.kind == FANOUT_JOB)).scalars())
        assert [payload["type"] for payload in outbox] == ["partner.created"]
    run_jobs(engine)
    with transaction(engine, writes=False) as session:
        assert [event.type for event in session.execute(select(WebhookEvent)).scalars()] == ["partner.created"]
        assert session.execute(select(func.count()).select_from(Job).where(Job.kind == DELIVER_JOB)).scalar_one() == 1
    assert [request.json["type"] for request in receiver.received()] == ["partner.created"]


def test_an_accepted_change_and_its_event_commit_together(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    _subscribe(api, program, receiver)
    with transaction(engine) as session:
        emit(session, program.id, "sale.created", {"id": "committed"})
        program_row = session.get(Program, program.id)
        assert program_row is not None
        program_row.name = "Acme renamed"
    run_jobs(engine)
    assert [request.json["data"] for request in receiver.received()] == [{"id": "committed"}]


def test_one_programs_events_never_reach_another_programs_endpoints(
    api: TestClient, program: ProgramKeys, other_program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    secret = _subscribe(api, program, receiver)
    other_secret = _subscribe(api, other_program, receiver)
    make_partner(api, program, email="mine@example.com")
    make_partner(api, other_program, email="theirs@example.com")
    make_partner(api, other_program, email="theirs2@example.com")
    run_jobs(engine)
    by_path: dict[str, list[str]] = {}
    for request in receiver.received():
        key = other_secret if request.path == f"/{other_program.id}" else secret
        by_path.setdefault(request.path, []).append(request.verify(key)["data"]["email"])
    assert {path: sorted(emails) for path, emails in by_path.items()} == {
        f"/{program.id}": ["mine@example.com"],
        f"/{other_program.id}": ["theirs2@example.com", "theirs@example.com"],
    }
    with transaction(engine, writes=False) as session:
        rows = session.execute(select(WebhookDelivery.program_id, WebhookEvent.program_id).join(WebhookEvent)).all()
        assert all(delivery_program == event_program for delivery_program, event_program in rows)


def test_a_subscription_gets_only_its_event_types_and_a_paused_endpoint_gets_none(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    _subscribe(api, program, receiver, ["partner.approved"])
    make_partner(api, program, status="pending")
    run_jobs(engine)
    assert receiver.received() == []
