"""The partner sees their link first: the dashboard's default link, referral code, `?ref=` / `?via=` URLs and QR
code; swipe copy in the resources carries the partner's own link."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.models import Enrollment, Program
from partnerloop.partner_portal.rules import personalize, site_urls
from partnerloop.partner_portal.service import library
from tests.account.factories import PASSWORD, add_partner_user
from tests.account.helpers import login, post_form
from tests.commission.factories import make_plan
from tests.conftest import ProgramKeys

PAT = "pat@creator.example"
LINK = "http://testserver/go/pat"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Try Acme: {link}", f"Try Acme: {LINK}"),
        ("Try Acme: {{link}} (code {code})", f"Try Acme: {LINK} (code PAT20)"),
        ("Try Acme: [link], use [code]", f"Try Acme: {LINK}, use PAT20"),
        ("Try Acme, it is great.", f"Try Acme, it is great.\n\n{LINK}"),
        (f"Already linked: {LINK}", f"Already linked: {LINK}"),
    ],
    ids=[
        "a link placeholder becomes the link",
        "double braces and the code placeholder are replaced too",
        "square brackets work as well",
        "a text without a placeholder gets the link at its end",
        "a text that holds the link already is left alone",
    ],
)
def test_swipe_copy_carries_the_partners_link(body: str, expected: str) -> None:
    assert personalize(body, LINK, "PAT20") == expected


def test_the_site_urls_use_every_accepted_parameter() -> None:
    assert site_urls(["acme.test"], ["ref", "via"], "pat 20") == [
        ("ref", "https://acme.test/?ref=pat+20"),
        ("via", "https://acme.test/?via=pat+20"),
    ]
    assert site_urls([], ["ref"], "pat") == []


@pytest.fixture
def partner(client: TestClient, engine: Engine, program: ProgramKeys) -> str:
    make_plan(client, program)
    _user_id, partner_id = add_partner_user(engine, program.id, PAT, name="Pat")
    assert login(client, PAT, PASSWORD).headers["location"] == "/partner"
    return partner_id


def _code(engine: Engine, partner_id: str) -> str:
    with transaction(engine, writes=False) as session:
        return str(
            session.execute(select(Enrollment.referral_code).where(Enrollment.partner_id == partner_id)).scalar()
        )


def _value(page: str, marker: str) -> str:
    found = re.search(rf'value="([^"]*)" readonly {marker}', page)
    assert found, f"no {marker} on the page"
    return html.unescape(found.group(1))


def test_the_dashboard_opens_with_the_code_then_the_first_link_and_its_qr_code(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: str
) -> None:
    code = _code(engine, partner)
    page = client.get("/partner").text
    assert page.index("data-share") < page.index("data-kpi")  # the link comes before the figures
    assert _value(page, "data-referral-code") == code
    assert _value(page, 'data-site-url="ref"') == f"https://acme.test/?ref={code}"
    assert _value(page, 'data-site-url="via"') == f"https://acme.test/?via={code}"
    assert "Create my link" in page and "data-default-link" not in page

    made = post_form(client, "/partner/links", {"destination_url": "https://acme.test/"}, page="/partner")
    assert made.status_code == 303, made.text
    post_form(client, "/partner/links", {"destination_url": "https://acme.test/pricing", "key": "pat-later"})
    page = client.get("/partner").text
    first = _value(page, "data-default-link")
    assert first.startswith("http://testserver/go/") and not first.endswith("pat-later")  # the first one stays
    qr = re.search(r'<img class="qr" src="([^"]+)"', page)
    assert qr
    svg = client.get(html.unescape(qr.group(1)))
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")


def test_swipe_copy_in_the_resources_holds_the_partners_own_link(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: str
) -> None:
    with transaction(engine) as session:
        acme = session.get_one(Program, program.id)
        library.add_resource(session, acme, library.ResourceIn("swipe_copy", "Tweet", body="Try Acme: {link} ({code})"))
        library.add_resource(session, acme, library.ResourceIn("guide", "Guide", body="Talk about {link} here."))
    code = _code(engine, partner)
    page = client.get("/partner/resources").text
    assert f"Try Acme: https://acme.test/?ref={code} ({code})" in html.unescape(page)  # no short link yet
    assert "Talk about {link} here." in page  # only swipe copy is personalised
    post_form(client, "/partner/links", {"destination_url": "https://acme.test/", "key": "pat-own"})
    page = html.unescape(client.get("/partner/resources").text)
    assert f"Try Acme: http://testserver/go/pat-own ({code})" in page
