"""A partner reads how their commissions' customers were attributed in words, and sees the customers'
emails masked: enough to recognise a customer, not to harvest the merchant's customer list."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.account.factories import PASSWORD, add_partner_user
from tests.account.helpers import login
from tests.commission.factories import make_plan
from tests.conftest import ProgramKeys
from tests.manage.test_attribution_words import attributed_three_ways

PAT = "pat@creator.example"


def test_the_portal_words_attributions_and_masks_customer_emails(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program)
    _user_id, partner_id = add_partner_user(engine, program.id, PAT, name="Pat Jones")
    partner = client.get(f"/api/v1/partners/{partner_id}", headers=program.headers).json()
    click_id = attributed_three_ways(client, engine, program, partner)
    assert login(client, PAT, PASSWORD).status_code == 303
    page = client.get("/partner/commissions")
    assert page.status_code == 200
    text = page.text
    assert "Pat Jones · link /go/jane · 2 h before sign-up" in text
    assert f"Pat Jones · referral code {partner['referral_code']}" in text
    assert "Pat Jones · coupon SPRING20" in text
    assert "c•••@buyer.test" in text and "carol@buyer.test" not in text  # masked for the partner
    assert "Link Buyer" in text and click_id not in text
