"""In Chromium on a phone, against `partnerloop serve` without SMTP_URL: the owner chooses their notification
emails on the account page, a partner asks for a password reset, and the owner finds that email on the Sent
emails page and follows its link. The server's log shows the email too. Screenshots go to artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.models import NotificationPreference
from tests.account.factories import PASSWORD, add_partner_user
from tests.conftest import make_program
from tests.e2e.conftest import Browsing, Server, screenshot
from tests.tracking.helpers import eventually

pytestmark = pytest.mark.slow

OWNER = "owner-acme@example.com"
PAT = "pat@phone.test"


@pytest.fixture
def serve_env() -> dict[str, str]:
    return {"SMTP_URL": ""}  # email that works out of the box: logged and kept, not sent


def _log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_notification_choices_and_the_sent_emails_page_on_a_phone(
    server: Server, browsing: Browsing, engine: Engine
) -> None:
    program = make_program(engine)
    add_partner_user(engine, program.id, PAT, name="Pat")

    owner = browsing.person(phone=True)
    _log_in(owner, OWNER, PASSWORD)
    owner.goto("/account#notifications")
    digest = owner.get_by_label("The weekly digest")
    expect(digest).to_be_checked()
    digest.uncheck()
    owner.get_by_role("button", name="Save my email choices").click()
    expect(owner.get_by_text("Your email choices are saved.")).to_be_visible()
    expect(owner.get_by_label("The weekly digest")).not_to_be_checked()
    expect(owner.get_by_label("An alert raised")).to_be_checked()
    screenshot(owner, "notify-account-preferences-phone")
    with transaction(engine, writes=False) as session:
        off = session.execute(select(NotificationPreference.kind).where(NotificationPreference.enabled.is_(False)))
        assert list(off.scalars()) == ["weekly_digest"]

    partner = browsing.person(phone=True)
    partner.goto("/forgot")
    partner.get_by_label("Email").fill(PAT)
    partner.get_by_role("button", name="Email me a link").click()

    eventually(lambda: "email not sent (SMTP_URL unset) to pat@phone.test" in server.output(), timeout=15)
    owner.goto(f"/manage/emails?program={program.id}")
    expect(owner.get_by_role("heading", name="Sent emails")).to_be_visible()
    link = owner.get_by_role("link", name="Reset your Partnerloop password")
    expect(link).to_be_visible()
    screenshot(owner, "notify-sent-emails-phone")
    link.click()
    expect(owner.locator("[data-email-text]")).to_contain_text("Choose a new password")
    screenshot(owner, "notify-sent-email-phone")
    reset_url = owner.locator("[data-email-text] a[href*='/reset/']").get_attribute("href")
    assert reset_url

    partner.goto(reset_url)  # the partner finishes the reset with the link the owner read out
    partner.get_by_label("New password", exact=True).fill("a brand new password 7")
    partner.get_by_label("The same again").fill("a brand new password 7")
    partner.get_by_role("button", name="Save the new password").click()
    expect(partner.get_by_text("Your password is changed")).to_be_visible()
