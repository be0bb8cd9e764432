"""/manage/coupons: codes listed with their partner and Stripe promotion code, a code made for a partner
(in Stripe too, Stripe's API on loopback recording the calls), deactivated; a coupon made on the page
attributes a sale; bad input explained and nothing stored; viewers read only; other workspaces get 404."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.models import Coupon
from tests.account.helpers import login
from tests.conftest import ProgramKeys, make_settings
from tests.integrations.stripe_kit import FakeStripe, stripe_api_server
from tests.manage.factories import PASSWORD, as_member, as_owner, form_post, make_partner, make_plan


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with stripe_api_server() as server:
        yield server


@pytest.fixture
def browser(engine: Engine, database_url: str, fake_stripe: FakeStripe) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url, stripe_api_base=fake_stripe.url))
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def _coupons(engine: Engine) -> list[tuple[str, str, bool, str | None]]:
    with transaction(engine, writes=False) as session:
        rows = session.execute(select(Coupon).order_by(Coupon.id)).scalars()
        return [(row.code, row.partner_id, row.active, row.stripe_promotion_code_id) for row in rows]


def test_create_for_a_partner_in_stripe_too_then_deactivate(
    browser: TestClient, program: ProgramKeys, engine: Engine, fake_stripe: FakeStripe
) -> None:
    make_plan(browser, program)
    anna = make_partner(browser, program, name="Anna Blog")
    as_owner(browser)
    page = f"/manage/coupons?program={program.id}"
    shown = browser.get(page)
    assert shown.status_code == 200 and "No coupon yet." in shown.text and "Anna Blog" in shown.text
    assert 'href="/manage/coupons?program=' in shown.text  # the nav link
    assert "create_in_stripe" not in shown.text and "Stripe page" in shown.text  # no secret key yet

    made = form_post(browser, page, page, {"code": "Anna10", "partner_id": anna["id"]})
    assert made.status_code == 303
    assert _coupons(engine) == [("Anna10", anna["id"], True, None)]
    assert "not in Stripe" in browser.get(page).text

    stripe_page = f"/manage/integrations/stripe?program={program.id}"
    key = {"secret_key": "sk_test_51PartnerloopCoupons0123", "test_mode": "on"}
    assert form_post(browser, stripe_page, stripe_page, key).status_code == 303
    values = {"code": "ANNA20", "partner_id": anna["id"], "create_in_stripe": "on", "stripe_coupon_id": "SPRING20"}
    assert form_post(browser, page, page, values).status_code == 303
    (call,) = fake_stripe.posts("/v1/promotion_codes")
    assert call.form["code"] == "ANNA20" and call.form["promotion[coupon]"] == "SPRING20"
    listed = browser.get(page).text
    promo = next(row for row in _coupons(engine) if row[0] == "ANNA20")[3]
    assert promo and promo.startswith("promo_") and promo in listed and "Anna Blog" in listed

    # The code made on the page credits Anna with a sale that uses it, without any click.
    sale = browser.post(
        "/api/v1/track/sale",
        json={"customer_external_id": "cus_c1", "amount": 10000, "currency": "usd", "invoice_id": "in_c1",
              "coupon_code": "anna20"},
        headers=program.headers,
    )  # fmt: skip
    assert sale.status_code in (200, 201) and sale.json()["commissions"][0]["partner_id"] == anna["id"]

    with transaction(engine, writes=False) as session:
        coupon_id = session.execute(select(Coupon.id).where(Coupon.code == "ANNA20")).scalar_one()
    gone = form_post(browser, page, f"/manage/coupons/{coupon_id}/deactivate?program={program.id}", {})
    assert gone.status_code == 303
    assert {row[0]: row[2] for row in _coupons(engine)} == {"Anna10": True, "ANNA20": False}
    assert fake_stripe.posts(f"/v1/promotion_codes/{promo}")[0].form["active"] == "false"
    assert "deactivated" in browser.get(page).text


def test_bad_input_is_explained_and_stores_nothing(
    browser: TestClient, program: ProgramKeys, engine: Engine, fake_stripe: FakeStripe
) -> None:
    make_plan(browser, program)
    anna = make_partner(browser, program)
    pending = make_partner(browser, program, status="pending")
    as_owner(browser)
    page = f"/manage/coupons?program={program.id}"
    assert form_post(browser, page, page, {"code": "TAKEN", "partner_id": anna["id"]}).status_code == 303
    before = _coupons(engine)
    for values, status, message in (
        ({"code": "no spaces!", "partner_id": anna["id"]}, 422, "not a usable code"),
        ({"code": "taken", "partner_id": anna["id"]}, 409, "exists already"),
        ({"code": "FRESH", "partner_id": ""}, 422, "partner_id"),
        ({"code": "FRESH", "partner_id": "01nosuchpartner"}, 404, "No partner"),
        ({"code": "FRESH", "partner_id": pending["id"]}, 409, "only approved partners"),
        ({"code": "FRESH", "partner_id": anna["id"], "create_in_stripe": "on"}, 422, "needs stripe_coupon_id"),
        ({"code": "FRESH", "partner_id": anna["id"], "create_in_stripe": "on", "stripe_coupon_id": "X"}, 422,
         "no Stripe secret key"),
    ):  # fmt: skip
        refused = form_post(browser, page, page, values)
        assert refused.status_code == status and message in refused.text, (values, refused.text[-2000:])
        assert 'role="alert"' in refused.text and f'value="{values["code"]}"' in refused.text  # the form is kept
    assert _coupons(engine) == before and fake_stripe.calls == []


def test_viewer_reads_but_cannot_act_and_another_workspace_gets_404(
    browser: TestClient, program: ProgramKeys, other_program: ProgramKeys, engine: Engine
) -> None:
    make_plan(browser, program)
    anna = make_partner(browser, program)
    as_owner(browser)
    page = f"/manage/coupons?program={program.id}"
    assert form_post(browser, page, page, {"code": "VICTIM", "partner_id": anna["id"]}).status_code == 303
    with transaction(engine, writes=False) as session:
        coupon_id = session.execute(select(Coupon.id)).scalar_one()
    before = _coupons(engine)
    deactivate = f"/manage/coupons/{coupon_id}/deactivate?program={program.id}"

    as_member(browser, engine, program, "viewer")
    shown = browser.get(page)
    assert shown.status_code == 200 and "VICTIM" in shown.text and "Create coupon" not in shown.text
    assert "Deactivate" not in shown.text
    assert form_post(browser, page, page, {"code": "MINE", "partner_id": anna["id"]}).status_code == 403
    assert form_post(browser, page, deactivate, {}).status_code == 403

    outsider = TestClient(browser.app, base_url="http://testserver")
    assert login(outsider, "owner-other@example.com", PASSWORD).status_code == 303
    own = f"/manage/coupons?program={other_program.id}"
    assert outsider.get(page).status_code == 404
    assert form_post(outsider, own, deactivate, {}).status_code == 404
    # Their own program, our coupon's id: still no such coupon.
    assert (
        form_post(outsider, own, f"/manage/coupons/{coupon_id}/deactivate?program={other_program.id}", {}).status_code
        == 404
    )
    assert "VICTIM" not in outsider.get(own).text
    assert _coupons(engine) == before
