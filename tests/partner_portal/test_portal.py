"""The partner's pages over real HTTP: getting started, links, the dashboard's figures, commissions, resources."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.kit.time import format_day, utc_now
from partnerloop.models import Coupon, Link, PayoutMethod, Program, Resource
from partnerloop.partner_portal.service import library
from tests.account.factories import PASSWORD, add_partner_user
from tests.account.helpers import login, post_form
from tests.commission.factories import make_plan
from tests.conftest import ProgramKeys
from tests.tracking.helpers import CHROME_ON_WINDOWS, GOOGLEBOT, SAFARI_ON_IPHONE, eventually

PAT = "pat@creator.example"


@pytest.fixture
def partner(client: TestClient, engine: Engine, program: ProgramKeys) -> str:
    """An approved partner of Acme (plan: 20% of sales for 12 months, 5.00 USD per lead), logged in."""
    make_plan(client, program)
    _user_id, partner_id = add_partner_user(engine, program.id, PAT, name="Pat")
    assert login(client, PAT, PASSWORD).headers["location"] == "/partner"
    return partner_id


def _kpi(html: str, name: str) -> str:
    found = re.search(rf'data-kpi="{name}">([^<]*)<', html)
    assert found, f"no {name} figure on the page"
    return found.group(1)


def _checklist(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-step="(\w+)" data-done="(\w+)"', html))


def _build_link(client: TestClient, **fields: str) -> object:
    data = {"destination_url": "https://acme.test/pricing", **fields}
    return post_form(client, "/partner/links", data, page="/partner/links")


def test_pages_ask_for_a_login(client: TestClient, program: ProgramKeys) -> None:
    response = client.get("/partner/links", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fpartner%2Flinks"


def test_a_new_partner_gets_started_profile_first_link_first_click(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: str
) -> None:
    with transaction(engine) as session:
        acme = session.get_one(Program, program.id)
        library.save_welcome_kit(
            session, acme, library.KitIn("Welcome aboard, partner!", "No brand bidding.", "Write a review.")
        )
    welcome = client.get("/partner/welcome")
    assert welcome.status_code == 200
    for text in ("Welcome aboard, partner!", "No brand bidding.", "Write a review."):
        assert text in welcome.text
    assert (
        "You earn 20% of each payment for the first 12 months after the customer&#39;s first purchase." in welcome.text
    )
    assert "You earn 5.00 USD for each lead (a sign-up you refer)." in welcome.text
    assert "counts as yours for 90 days" in welcome.text
    assert _checklist(welcome.text) == {"profile": "no", "payout": "no", "link": "no", "click": "no"}
    assert "0 of 4 done" in welcome.text

    refused = post_form(client, "/partner/profile", {"name": "Pat", "website": "ftp://x"}, page="/partner/profile")
    assert refused.status_code == 422 and "must be a web address" in refused.text
    saved = post_form(
        client, "/partner/profile", {"name": "Pat Creator", "country": "fr", "website": "https://pat.example"},
        page="/partner/profile",
    )  # fmt: skip
    assert saved.status_code == 303
    assert _checklist(client.get("/partner/welcome").text) == {
        "profile": "yes", "payout": "no", "link": "no", "click": "no",
    }  # fmt: skip
    paypal = {"type": "paypal", "paypal_email": "pat@paypal.example"}
    assert post_form(client, "/partner/payouts", paypal, page="/partner/payouts").status_code == 303

    created = _build_link(client, key="pat-spring", utm_source="newsletter", utm_campaign="spring")
    assert created.status_code == 303  # type: ignore[attr-defined]
    link_page = client.get(created.headers["location"])  # type: ignore[attr-defined]
    assert "Your link is ready" in link_page.text
    assert 'value="http://testserver/go/pat-spring"' in link_page.text
    assert "https://acme.test/pricing?utm_source=newsletter&amp;utm_campaign=spring" in link_page.text
    assert _checklist(client.get("/partner/welcome").text) == {
        "profile": "yes", "payout": "yes", "link": "yes", "click": "no",
    }  # fmt: skip

    assert client.get("/go/pat-spring", follow_redirects=False).status_code == 302

    def welcome_when_done() -> str | None:
        text = client.get("/partner/welcome").text
        return text if "4 of 4 done" in text else None

    done = eventually(welcome_when_done, timeout=10)
    assert _checklist(done) == {"profile": "yes", "payout": "yes", "link": "yes", "click": "yes"}
    assert "All done" in done
    assert "Finish getting started" not in client.get("/partner").text


def test_the_dashboard_counts_clicks_visitors_conversions_and_earnings(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: str
) -> None:
    _build_link(client, key="pat")
    for agent in (CHROME_ON_WINDOWS, CHROME_ON_WINDOWS, SAFARI_ON_IPHONE, GOOGLEBOT):
        response = client.get("/go/pat", headers={"user-agent": agent}, follow_redirects=False)
        assert response.status_code == 302
    click_id = response.headers["location"].split("pl_cid=")[1]
    # the last click was the bot's: convert on a human one
    first = client.get("/go/pat", headers={"user-agent": SAFARI_ON_IPHONE}, follow_redirects=False)
    human_click = first.headers["location"].split("pl_cid=")[1]
    assert click_id != human_click
    eventually(lambda: _kpi(client.get("/partner").text, "clicks") == "5", timeout=10)

    lead = client.post(
        "/api/v1/track/lead",
        json={"click_id": human_click, "customer_external_id": "cus_1", "email": "buyer@example.org"},
        headers=program.headers,
    )
    assert lead.status_code == 200, lead.text
    sale = client.post(
        "/api/v1/track/sale",
        json={"customer_external_id": "cus_1", "amount": 10000, "currency": "usd", "invoice_id": "in_1"},
        headers=program.headers,
    )
    assert sale.status_code == 200, sale.text

    page = client.get("/partner")
    assert page.status_code == 200
    assert (_kpi(page.text, "clicks"), _kpi(page.text, "unique-clicks")) == ("5", "2")
    assert (_kpi(page.text, "leads"), _kpi(page.text, "sales"), _kpi(page.text, "conversion")) == ("1", "1", "20.0%")
    assert _kpi(page.text, "earned-usd") == "$25.00"  # 5.00 for the lead + 20% of 100.00
    assert _kpi(page.text, "epc-usd") == "$5.00"
    assert 'data-balance="pending">$25.00' in page.text
    hold_ends = format_day(utc_now() + timedelta(days=30))
    assert f"Nothing is approved for payout yet. The next commission is approved on {hold_ends}." in page.text
    assert page.text.count('<svg class="chart"') == 2 and "peak $25.00 per day" in page.text

    for commission in sale.json()["commissions"] + lead.json()["commissions"]:
        approved = client.post(f"/api/v1/commissions/{commission['id']}/approve", headers=program.headers)
        assert approved.status_code == 200, approved.text
    after = client.get("/partner").text
    assert "$25.00 is approved: $25.00 more reaches the minimum payout of $50.00." in after

    older = client.get("/partner?start=2020-01-01&end=2020-01-31")
    assert older.status_code == 200 and _kpi(older.text, "clicks") == "0" and _kpi(older.text, "sales") == "0"
    wrong = client.get("/partner?start=2026-13-01")
    assert wrong.status_code == 422 and "Dates must look like 2026-03-31." in wrong.text
    assert _kpi(wrong.text, "clicks") == "5"  # the last 30 days instead

    with transaction(engine, writes=False) as session:
        link_id = session.execute(select(Link.id).where(Link.key == "pat")).scalar_one()
    stats = client.get(f"/partner/links/{link_id}")
    assert stats.status_code == 200
    assert (_kpi(stats.text, "clicks"), _kpi(stats.text, "sales"), _kpi(stats.text, "earned-usd")) == (
        "5", "1", "$25.00",
    )  # fmt: skip
    assert f'src="/partner/links/{link_id}/qr.svg?program={program.id}"' in stats.text
    listing = client.get("/partner/links").text
    assert "5 clicks" in listing and "1 customer<" in listing and "1 sale<" in listing


def test_the_link_builder_explains_what_it_refuses(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: str
) -> None:
    off_domain = _build_link(client, destination_url="https://evil.example/", key="mine")
    assert off_domain.status_code == 422  # type: ignore[attr-defined]
    assert "is not an allowed domain of the program (acme.test)" in off_domain.text  # type: ignore[attr-defined]
    assert 'value="mine"' in off_domain.text  # type: ignore[attr-defined]
    bad_key = _build_link(client, key="no spaces")
    assert bad_key.status_code == 422 and "key takes 1 to 64 letters" in bad_key.text  # type: ignore[attr-defined]
    long_utm = _build_link(client, utm_source="x" * 201)
    assert long_utm.status_code == 422 and "utm_source takes at most 200" in long_utm.text  # type: ignore[attr-defined]
    assert _build_link(client, key="taken").status_code == 303  # type: ignore[attr-defined]
    taken = _build_link(client, key="taken")
    assert taken.status_code == 409 and "The link key &#39;taken&#39; is taken." in taken.text  # type: ignore[attr-defined]
    with transaction(engine, writes=False) as session:
        assert session.execute(select(Link.key)).scalars().all() == ["taken"]


def test_qr_codes_of_own_links_only(
    client: TestClient, engine: Engine, program: ProgramKeys, other_program: ProgramKeys, partner: str
) -> None:
    location = _build_link(client, key="qr-me").headers["location"]  # type: ignore[attr-defined]
    link_id = location.split("/partner/links/")[1].split("?")[0]
    svg = client.get(f"/partner/links/{link_id}/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.startswith("<svg") and "http://testserver/go/qr-me" in svg.text
    png = client.get(f"/partner/links/{link_id}/qr.png")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert "qr-me-qr.png" in png.headers["content-disposition"]
    assert client.get(f"/partner/links/{link_id}/qr.gif").status_code == 404

    # another partner of the same program sees none of it
    add_partner_user(engine, program.id, "other@creator.example")
    other = TestClient(client.app, base_url="http://testserver")
    login(other, "other@creator.example", PASSWORD)
    assert other.get(f"/partner/links/{link_id}").status_code == 404
    assert other.get(f"/partner/links/{link_id}/qr.svg").status_code == 404
    assert "qr-me" not in other.get("/partner/links").text


def test_commissions_list_their_status_and_explanation(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: str
) -> None:
    lead = client.post(
        "/api/v1/track/lead",
        json={"referral_code": _referral_code(engine, partner), "customer_external_id": "cus_9"},
        headers=program.headers,
    )
    assert lead.status_code == 200, lead.text
    page = client.get("/partner/commissions")
    assert page.status_code == 200
    assert "5.00 USD per lead under Standard" in page.text and "status-pending" in page.text
    assert "No commissions with this status yet." in client.get("/partner/commissions?status=approved").text
    wrong = client.get("/partner/commissions?status=lost")
    assert wrong.status_code == 422 and "Status is one of" in wrong.text


def _referral_code(engine: Engine, partner_id: str) -> str:
    from partnerloop.models import Enrollment

    with transaction(engine, writes=False) as session:
        return str(
            session.execute(select(Enrollment.referral_code).where(Enrollment.partner_id == partner_id)).scalar_one()
        )


def test_the_library_shows_what_the_partners_group_may_see(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: str
) -> None:
    with transaction(engine) as session:
        acme = session.get_one(Program, program.id)
        library.add_resource(
            session, acme, library.ResourceIn("swipe_copy", "Launch tweet", body="Try Acme: it is great.")
        )
        library.add_resource(session, acme, library.ResourceIn("video", "Demo video", url="https://video.example/demo"))
        # a resource for a group this partner is not in
        session.add(
            Resource(program_id=program.id, kind="guide", title="Gold playbook", body="…", group_ids=["grp_gold"])
        )
    page = client.get("/partner/resources")
    assert page.status_code == 200
    assert "Launch tweet" in page.text and "Try Acme: it is great." in page.text
    assert 'data-copy="#copy-' in page.text
    assert 'href="https://video.example/demo"' in page.text
    assert "Gold playbook" not in page.text


def test_a_pending_partner_can_not_make_links(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    add_partner_user(engine, program.id, "wait@creator.example", status="pending")
    login(client, "wait@creator.example", PASSWORD)
    response = post_form(client, "/partner/links", {"destination_url": "https://acme.test/"}, page="/partner/profile")
    assert response.status_code == 200 and "Your application is under review" in response.text
    with transaction(engine, writes=False) as session:
        assert session.execute(select(Link.id)).first() is None


def test_the_links_page_lists_the_partners_active_coupon_codes(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: str
) -> None:
    assert "Your coupon codes" not in client.get("/partner/links").text
    with transaction(engine) as session:
        session.add(Coupon(program_id=program.id, partner_id=partner, code="PAT20", code_key="pat20"))
        session.add(Coupon(program_id=program.id, partner_id=partner, code="OLD10", code_key="old10", active=False))
    page = client.get("/partner/links").text
    assert "Your coupon codes" in page and 'value="PAT20"' in page and "OLD10" not in page
    assert page.count("Your coupon codes") == 1  # once, in the page's body (not in its title or head)
    head = page.split("</head>", 1)[0]
    assert "<section" not in head


def test_a_partner_gives_payout_and_tax_details_and_sees_them_masked(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: str
) -> None:
    empty = client.get("/partner/payouts")
    assert empty.status_code == 200 and "Add where we send your earnings" in empty.text
    assert "runs payouts by hand" in empty.text

    def save(**fields: str) -> object:
        return post_form(client, "/partner/payouts", fields, page="/partner/payouts")

    nothing = save()
    assert nothing.status_code == 422 and "Choose how you want to be paid." in nothing.text  # type: ignore[attr-defined]
    bad_email = save(type="paypal", paypal_email="not-an-email")
    assert bad_email.status_code == 422 and 'value="not-an-email"' in bad_email.text  # type: ignore[attr-defined]
    wrong_form = save(
        type="paypal", paypal_email="pat@paypal.example", tax_form="w9", tax_legal_name="Pat Creator",
        tax_country="fr", tax_tax_id="FR123456789", tax_address="1 rue de Paris",
    )  # fmt: skip
    assert wrong_form.status_code == 422  # type: ignore[attr-defined]
    assert "A W-9 is for US persons" in wrong_form.text  # type: ignore[attr-defined]
    assert "Add where we send your earnings" in wrong_form.text  # type: ignore[attr-defined]  # nothing saved

    saved = save(
        type="paypal", paypal_email="pat@paypal.example", tax_form="w8ben", tax_legal_name="Pat Creator",
        tax_country="fr", tax_tax_id="FR123456789", tax_address="1 rue de Paris",
    )  # fmt: skip
    assert saved.status_code == 303  # type: ignore[attr-defined]
    page = client.get("/partner/payouts").text
    assert 'data-payout-method="paypal"' in page and "W8BEN for Pat Creator (FR)" in page
    assert "pat@paypal.example" not in page and "FR123456789" not in page and "1 rue de Paris" not in page
    with transaction(engine, writes=False) as session:
        method = session.execute(select(PayoutMethod).where(PayoutMethod.partner_id == partner)).scalar_one()
    assert (method.type, method.currency, method.details_masked) == ("paypal", "usd", {"email": "p•••@paypal.example"})
    assert "pat@paypal.example" not in method.details_encrypted  # encrypted at rest

    with transaction(engine) as session:
        from partnerloop.payout.schemas import PayoutSettingsIn
        from partnerloop.payout.service import methods

        methods.update_settings(
            session, client.app.api.state.settings, session.get_one(Program, program.id),  # type: ignore[attr-defined]
            PayoutSettingsIn(schedule="monthly", day_of_month=1),
        )  # fmt: skip
    assert "Payouts run every month; the next run is on 1 " in client.get("/partner/payouts").text


def test_partner_and_manager_date_a_commission_by_when_it_happened(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: str
) -> None:
    from sqlalchemy import update

    from partnerloop.models import Commission
    from tests.manage.factories import as_owner

    lead = client.post(
        "/api/v1/track/lead",
        json={"referral_code": _referral_code(engine, partner), "customer_external_id": "cus_late"},
        headers=program.headers,
    )
    assert lead.status_code == 200, lead.text
    happened = utc_now() - timedelta(days=40)  # reported late: recorded today, happened 40 days ago
    with transaction(engine) as session:
        session.execute(update(Commission).where(Commission.partner_id == partner).values(occurred_at=happened))

    partner_page = client.get("/partner/commissions").text
    as_owner(client)
    manager_page = client.get(f"/manage/commissions?program={program.id}").text

    for page in (partner_page, manager_page):
        assert f">{format_day(happened)}</time>" in page and format_day(utc_now()) not in page
