"""Coupons: codes tied to partners, unique whatever their case, attributing sales without a click,
optionally created in Stripe as promotion codes (Stripe's API on loopback, recording the calls)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.models import Coupon
from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys, make_settings
from tests.integrations.stripe_kit import FakeStripe, stripe_api_server


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with stripe_api_server() as server:
        yield server


@pytest.fixture
def stripe_client(engine: Engine, database_url: str, fake_stripe: FakeStripe) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url, stripe_api_base=fake_stripe.url))
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def _coupons(engine: Engine) -> int:
    with transaction(engine, writes=False) as session:
        return int(session.execute(select(func.count()).select_from(Coupon)).scalar_one())


def test_create_get_list_and_deactivate(client: TestClient, program: ProgramKeys) -> None:
    partner = make_partner(client, program)
    created = client.post(
        "/api/v1/coupons", json={"code": "Spring20", "partner_id": partner["id"]}, headers=program.headers
    )
    assert created.status_code == 201, created.text
    coupon = created.json()
    assert (coupon["code"], coupon["partner_id"], coupon["active"]) == ("Spring20", partner["id"], True)
    assert client.get(f"/api/v1/coupons/{coupon['id']}", headers=program.headers).json()["code"] == "Spring20"
    listed = client.get(f"/api/v1/coupons?partner_id={partner['id']}", headers=program.headers).json()
    assert [item["id"] for item in listed["data"]] == [coupon["id"]] and listed["next_cursor"] is None
    gone = client.delete(f"/api/v1/coupons/{coupon['id']}", headers=program.headers)
    assert gone.status_code == 200 and gone.json()["active"] is False


def test_code_is_unique_per_program_whatever_its_case(
    client: TestClient, engine: Engine, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    partner = make_partner(client, program)
    assert (
        client.post(
            "/api/v1/coupons", json={"code": "SAVE10", "partner_id": partner["id"]}, headers=program.headers
        ).status_code
        == 201
    )
    again = client.post(
        "/api/v1/coupons", json={"code": "save10", "partner_id": partner["id"]}, headers=program.headers
    )
    assert again.status_code == 409 and again.json()["error"] == "CouponCodeTaken"
    other_partner = make_partner(client, other_program)
    elsewhere = client.post(
        "/api/v1/coupons", json={"code": "save10", "partner_id": other_partner["id"]}, headers=other_program.headers
    )
    assert elsewhere.status_code == 201
    assert _coupons(engine) == 2


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"code": "GOOD1", "partner_id": "01NOSUCHPARTNER"}, 404, "CouponPartnerNotFound"),
        ({"code": "has space", "partner_id": "{partner}"}, 422, "InvalidCouponCode"),
        ({"code": "OK22", "partner_id": "{partner}", "create_in_stripe": True}, 422, "ValidationError"),
        (
            {"code": "OK23", "partner_id": "{partner}", "create_in_stripe": True, "stripe_coupon_id": "Z4OV52SU"},
            422,
            "StripeNotConnected",
        ),
    ],
    ids=[
        "unknown partner is 404",
        "code with a space is 422",
        "stripe without coupon id is 422",
        "stripe without secret key is 422",
    ],
)
def test_bad_coupon_requests_are_refused_and_write_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys, body: dict[str, Any], status: int, error: str
) -> None:
    partner = make_partner(client, program)
    body = {
        key: (value.replace("{partner}", partner["id"]) if isinstance(value, str) else value)
        for key, value in body.items()
    }
    response = client.post("/api/v1/coupons", json=body, headers=program.headers)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert _coupons(engine) == 0


def test_sale_with_coupon_code_is_attributed_without_click(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)
    partner = make_partner(client, program)
    client.post("/api/v1/coupons", json={"code": "Friends", "partner_id": partner["id"]}, headers=program.headers)
    sale = client.post("/api/v1/track/sale", headers=program.headers, json={
        "customer_external_id": "c1", "amount": 5000, "currency": "usd", "invoice_id": "inv-1", "coupon_code": "FRIENDS"})  # fmt: skip
    assert sale.status_code == 200, sale.text
    assert sale.json()["customer"]["partner_id"] == partner["id"]
    assert [c["earnings_amount"] for c in sale.json()["commissions"]] == [1000]


def test_sale_with_unknown_or_deactivated_code_is_recorded_unattributed(
    client: TestClient, program: ProgramKeys
) -> None:
    make_plan(client, program)
    partner = make_partner(client, program)
    coupon = client.post(
        "/api/v1/coupons", json={"code": "OLD", "partner_id": partner["id"]}, headers=program.headers
    ).json()
    client.delete(f"/api/v1/coupons/{coupon['id']}", headers=program.headers)
    for code, invoice in (("NOSUCH", "inv-2"), ("OLD", "inv-3")):
        sale = client.post("/api/v1/track/sale", headers=program.headers, json={
            "customer_external_id": f"c-{invoice}", "amount": 5000, "currency": "usd", "invoice_id": invoice, "coupon_code": code})  # fmt: skip
        assert sale.status_code == 200, sale.text
        body = sale.json()
        assert body["sale"]["invoice_id"] == invoice and body["commissions"] == []
        assert body["customer"]["partner_id"] is None
        assert f"coupon code '{code}' is not an active coupon" in body["no_commission_reason"]


def test_create_in_stripe_makes_a_promotion_code_through_the_api(
    stripe_client: TestClient, program: ProgramKeys, fake_stripe: FakeStripe
) -> None:
    client = stripe_client
    assert (
        client.patch("/api/v1/program", json={"stripe_secret_key": "sk_test_abc"}, headers=program.headers).status_code
        == 200
    )
    partner = make_partner(client, program)
    created = client.post("/api/v1/coupons", headers=program.headers, json={
        "code": "PAT25", "partner_id": partner["id"], "create_in_stripe": True, "stripe_coupon_id": "Z4OV52SU"})  # fmt: skip
    assert created.status_code == 201, created.text
    [call] = fake_stripe.calls
    assert (call.method, call.path) == ("POST", "/v1/promotion_codes")
    assert call.form["code"] == "PAT25"
    assert call.form["promotion[type]"] == "coupon" and call.form["promotion[coupon]"] == "Z4OV52SU"
    assert call.headers["Authorization"] == "Bearer sk_test_abc"
    assert call.headers.get("Idempotency-Key", "").startswith("partnerloop-coupon-")
    assert created.json()["stripe_promotion_code_id"].startswith("promo_")
    gone = client.delete(f"/api/v1/coupons/{created.json()['id']}", headers=program.headers)
    assert gone.status_code == 200
    assert fake_stripe.calls[-1].path == f"/v1/promotion_codes/{created.json()['stripe_promotion_code_id']}"
    assert fake_stripe.calls[-1].form == {"active": "false"}


def test_stripe_refusal_is_502_and_no_coupon_is_kept(
    stripe_client: TestClient, engine: Engine, program: ProgramKeys, fake_stripe: FakeStripe
) -> None:
    client = stripe_client
    client.patch("/api/v1/program", json={"stripe_secret_key": "sk_test_abc"}, headers=program.headers)
    partner = make_partner(client, program)
    fake_stripe.fail_with = (400, {"error": {"type": "invalid_request_error", "message": "No such coupon: 'nope'"}})
    response = client.post("/api/v1/coupons", headers=program.headers, json={
        "code": "PAT26", "partner_id": partner["id"], "create_in_stripe": True, "stripe_coupon_id": "nope"})  # fmt: skip
    assert response.status_code == 502
    assert "No such coupon" in response.json()["detail"]
    assert _coupons(engine) == 0
