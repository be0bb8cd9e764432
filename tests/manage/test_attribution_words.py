"""The manager reads how customers and commissions were attributed in words (partner, channel, time before
sign-up), never raw ids, and sees the customer's email whole when the program knows it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import Click
from tests.conftest import ProgramKeys
from tests.manage.factories import as_owner, make_partner, make_plan


def _post(client: TestClient, program: ProgramKeys, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=program.headers)
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


def _click_on(client: TestClient, engine: Engine, program: ProgramKeys, partner_id: str, key: str) -> str:
    """A click on the partner's link `key`, made 2 h 5 min ago."""
    link = _post(
        client,
        program,
        "/api/v1/links",
        {"partner_id": partner_id, "destination_url": "https://acme.test/", "key": key},
    )
    with transaction(engine) as session:
        click = Click(program_id=program.id, link_id=link["id"], partner_id=partner_id,
                      created_at=utc_now() - timedelta(hours=2, minutes=5))  # fmt: skip
        session.add(click)
        session.flush()
        return click.id


def attributed_three_ways(client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]) -> str:
    """Customers of `partner` by link click (cus_link, named), referral code (cus_code, an advocate with an
    email) and coupon (cus_coupon, a sale only); returns the click id."""
    click_id = _click_on(client, engine, program, partner["id"], "jane")
    _post(
        client,
        program,
        "/api/v1/track/lead",
        {"click_id": click_id, "customer_external_id": "cus_link", "name": "Link Buyer"},
    )
    _post(
        client,
        program,
        "/api/v1/track/lead",
        {"referral_code": partner["referral_code"], "customer_external_id": "cus_code"},
    )
    _post(client, program, "/api/v1/advocates", {"customer_external_id": "cus_code", "email": "carol@buyer.test"})
    _post(client, program, "/api/v1/coupons", {"code": "SPRING20", "partner_id": partner["id"]})
    _post(client, program, "/api/v1/track/sale", {"customer_external_id": "cus_coupon", "amount": 10000,
                                                   "currency": "usd", "invoice_id": "in_c", "coupon_code": "SPRING20"})  # fmt: skip
    return click_id


def test_the_partner_page_words_each_customers_attribution_and_shows_known_emails(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program)
    jane = make_partner(client, program, name="Jane Cooper", email="jane@p.test")
    click_id = attributed_three_ways(client, engine, program, jane)
    as_owner(client)
    page = client.get(f"/manage/partners/{jane['id']}?program={program.id}")
    assert page.status_code == 200
    text = page.text
    for expected in (
        "Jane Cooper · link /go/jane · 2 h before sign-up",
        f"Jane Cooper · referral code {jane['referral_code']}",
        "Jane Cooper · coupon SPRING20",
        "<td>carol@buyer.test</td>",  # the email the program knows, whole for the manager
        "<td>Link Buyer</td>",  # else the name
        "<td>cus_coupon</td>",  # else the external id
    ):
        assert expected in text, expected
    assert click_id not in text and f"partner {jane['id']}" not in text  # no raw ids in the words


def test_the_commissions_list_words_the_attribution_and_names_the_customer(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program)
    jane = make_partner(client, program, name="Jane Cooper", email="jane@p.test")
    attributed_three_ways(client, engine, program, jane)
    as_owner(client)
    page = client.get(f"/manage/commissions?program={program.id}&status=all")
    assert page.status_code == 200
    text = page.text
    assert "Jane Cooper · link /go/jane · 2 h before sign-up" in text
    assert "Jane Cooper · coupon SPRING20" in text
    assert "Customer carol@buyer.test" in text and "Customer Link Buyer" in text
