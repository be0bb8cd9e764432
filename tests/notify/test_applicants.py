"""Applicants and their emails: the team hears of a new application, the applicant of the decision (a
notification with its one-click unsubscribe), and an applicant whose address is not confirmed is told exactly
that, with a resend button, instead of "no partner account"."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.models import Partner, Program
from partnerloop.partner_portal.service import application as application_service
from tests.account.helpers import login, post_form
from tests.conftest import ProgramKeys, make_settings
from tests.notify.smtp import SmtpRecorder, mail_client  # noqa: F401
from tests.partner_portal.helpers import APPLICANT_PASSWORD, apply, set_form

JO = "jo@creator.example"
OWNER = "owner-acme@example.com"


def test_an_approved_applicant_not_yet_confirmed_is_told_so_and_can_ask_again(
    mail_client: TestClient,  # noqa: F811
    engine: Engine,
    program: ProgramKeys,
    smtp: SmtpRecorder,
) -> None:
    set_form(engine, program.id, auto_approve=True)
    assert apply(mail_client, program.id).status_code == 303
    smtp.wait_for(to=JO, subject="Confirm your email")
    assert login(mail_client, JO, APPLICANT_PASSWORD).headers["location"] == "/account"
    account = mail_client.get("/account")
    assert "Your application to Acme is approved" in account.text and "not a partner yet" not in account.text
    assert 'action="/account/verify"' in account.text
    portal = mail_client.get("/partner")
    assert portal.status_code == 403
    assert "is approved, but your email address is not confirmed yet" in portal.text
    assert 'action="/account/verify"' in portal.text and "no partner account" not in portal.text

    assert post_form(mail_client, "/account/verify").status_code == 303
    again = smtp.wait_for(to=JO, subject="Confirm your email", count=2)
    assert mail_client.get(again.link("/verify/")).status_code in (200, 303)
    assert mail_client.get("/partner").status_code == 200
    assert "data-awaiting-confirmation" not in mail_client.get("/account").text


def test_the_team_hears_of_an_application_and_the_applicant_of_the_decision(
    mail_client: TestClient,  # noqa: F811
    engine: Engine,
    database_url: str,
    program: ProgramKeys,
    smtp: SmtpRecorder,
) -> None:
    assert apply(mail_client, program.id).status_code == 303
    told = smtp.wait_for(to=OWNER, subject="New partner application: Jo Applicant")
    assert "jo@creator.example" in told.text and "/manage/applications?program=" in told.text
    assert told.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    with transaction(engine) as session:
        acme = session.get_one(Program, program.id)
        partner_id = session.execute(select(Partner.id).where(Partner.email == JO)).scalar_one()
        settings = make_settings(database_url, smtp_url=smtp.url)
        application_service.decide(session, settings, acme, partner_id, "reject", decided_by="test", reason="No site")
    decided = smtp.wait_for(to=JO, subject="Your application to Acme")
    assert "The team's note: No site" in decided.text and "No site" in decided.html
    assert "when your application is decided" in decided.text
    assert str(decided.message["List-Unsubscribe"]).startswith("<http://testserver/email/unsubscribe?")
