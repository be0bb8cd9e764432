"""Sign-up with email verification, password reset by emailed link: through a real SMTP server on loopback."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.account.service import create_partner_user
from partnerloop.db import transaction
from partnerloop.models import Member, Partner, Program, User, Workspace
from partnerloop.partner.schemas import PartnerIn
from partnerloop.partner.service import enroll_partner
from tests.account.factories import PASSWORD, add_partner_user
from tests.account.helpers import csrf_of, login, post_form
from tests.conftest import ProgramKeys
from tests.notify.smtp import SmtpRecorder

OWNER = "owner-acme@example.com"
NEW_PASSWORD = "a brand new passphrase"


def _sign_up(client: TestClient, **overrides: str) -> object:
    data = {
        "name": "Ada Merchant",
        "email": "ada@shop.example",
        "password": PASSWORD,
        "company": "Ada's Shop",
        "domain": "shop.example",
        **overrides,
    }
    return post_form(client, "/signup", data, page="/signup")


def _count(engine: Engine, model: type) -> int:
    with transaction(engine, writes=False) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_sign_up_creates_a_program_logs_in_and_verifies_the_email_by_link(
    mail_client: TestClient, engine: Engine, smtp: SmtpRecorder
) -> None:
    response = _sign_up(mail_client)
    assert response.status_code == 303 and response.headers["location"] == "/manage"  # type: ignore[attr-defined]
    dashboard = mail_client.get("/manage")
    assert dashboard.status_code == 200 and "Ada&#39;s Shop" in dashboard.text
    with transaction(engine, writes=False) as session:
        user = session.execute(select(User).where(User.email == "ada@shop.example")).scalar_one()
        assert user.email_verified_at is None
        role = session.execute(select(Member.role).where(Member.user_id == user.id)).scalar_one()
        assert role == "owner"
        assert session.execute(select(Program.allowed_domains)).scalar_one() == ["shop.example"]
    assert "not confirmed yet" in mail_client.get("/account").text

    message = smtp.wait_for(to="ada@shop.example", subject="Confirm your email")
    assert "<a href=" in message.html
    confirmed = mail_client.get(message.link("/verify/"), follow_redirects=True)
    assert confirmed.status_code == 200 and "Your email address is confirmed." in confirmed.text
    with transaction(engine, writes=False) as session:
        assert session.execute(select(User.email_verified_at)).scalar_one() is not None
    again = mail_client.get(message.link("/verify/"))
    assert again.status_code == 400 and "used already" in again.text


def test_sign_up_refuses_a_common_password_and_creates_nothing(mail_client: TestClient, engine: Engine) -> None:
    response = _sign_up(mail_client, password="password1")
    assert response.status_code == 422 and "most common" in response.text  # type: ignore[attr-defined]
    assert 'value="ada@shop.example"' in response.text  # type: ignore[attr-defined]
    short = _sign_up(mail_client, password="Sh0rt!")
    assert short.status_code == 422 and "at least 8 characters" in short.text  # type: ignore[attr-defined]
    assert _count(engine, User) == 0 and _count(engine, Workspace) == 0


def test_sign_up_with_a_taken_email_says_so_and_changes_nothing(
    mail_client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    before = (_count(engine, User), _count(engine, Workspace))
    response = _sign_up(mail_client, email=OWNER)
    assert response.status_code == 409 and "exists already" in response.text  # type: ignore[attr-defined]
    bad_domain = _sign_up(mail_client, email="new@shop.example", domain="not a domain")
    assert bad_domain.status_code == 422  # type: ignore[attr-defined]
    assert (_count(engine, User), _count(engine, Workspace)) == before


def test_password_reset_by_emailed_link_ends_every_session(
    mail_client: TestClient, program: ProgramKeys, smtp: SmtpRecorder, second_browser: TestClient
) -> None:
    login(second_browser, OWNER, PASSWORD)  # another browser, logged in with the old password
    assert second_browser.get("/manage").status_code == 200

    page = post_form(mail_client, "/forgot", {"email": OWNER}, page="/forgot")
    assert page.status_code == 200 and "is on its way" in page.text
    message = smtp.wait_for(to=OWNER, subject="Reset your Partnerloop password")
    link = message.link("/reset/")
    form = mail_client.get(link)
    assert form.status_code == 200 and 'name="password"' in form.text

    mismatch = mail_client.post(
        link, data={"password": NEW_PASSWORD, "confirm": "other", "csrf_token": csrf_of(form.text)}
    )
    assert mismatch.status_code == 422 and "differ" in mismatch.text
    weak = mail_client.post(
        link, data={"password": "iloveyou1", "confirm": "iloveyou1", "csrf_token": csrf_of(form.text)}
    )
    assert weak.status_code == 422 and "most common" in weak.text
    done = mail_client.post(
        link,
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/login"

    assert second_browser.get("/manage", follow_redirects=False).status_code == 303  # logged out everywhere
    assert login(mail_client, OWNER, PASSWORD).status_code == 401
    assert login(mail_client, OWNER, NEW_PASSWORD).status_code == 303
    reused = mail_client.get(link)
    assert reused.status_code == 400 and "used already" in reused.text


def test_a_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(
    mail_client: TestClient, program: ProgramKeys, smtp: SmtpRecorder
) -> None:
    unknown = post_form(mail_client, "/forgot", {"email": "stranger@example.com"}, page="/forgot")
    known = post_form(mail_client, "/forgot", {"email": OWNER}, page="/forgot")
    assert unknown.status_code == known.status_code == 200
    assert unknown.text.replace("stranger@example.com", "X") == known.text.replace(OWNER, "X")
    smtp.wait_for(to=OWNER, subject="Reset")
    assert smtp.to("stranger@example.com") == []


def test_password_reset_requests_are_rate_limited_per_account(
    mail_client: TestClient, program: ProgramKeys, smtp: SmtpRecorder
) -> None:
    for _ in range(5):
        assert post_form(mail_client, "/forgot", {"email": OWNER}, page="/forgot").status_code == 200
    blocked = post_form(mail_client, "/forgot", {"email": OWNER.upper()}, page="/forgot")
    assert blocked.status_code == 429 and "Too many reset requests" in blocked.text
    smtp.wait_for(to=OWNER, subject="Reset", count=5)


def test_a_partner_signing_up_sees_existing_partner_rows_only_after_proving_the_address(
    mail_client: TestClient, program: ProgramKeys, engine: Engine, smtp: SmtpRecorder
) -> None:
    with transaction(engine) as session:
        acme = session.get(Program, program.id)
        assert acme is not None
        enroll_partner(session, acme, PartnerIn(email="jane@example.org", name="Jane"))
    with transaction(engine) as session:
        user = create_partner_user(
            session,
            email="Jane@Example.org",
            password=PASSWORD,
            name="Jane",
            settings=mail_client.app.runtime.settings,  # type: ignore[attr-defined]
        )
        user_id = user.id
    with transaction(engine, writes=False) as session:
        assert session.execute(select(Partner.user_id)).scalar_one() is None  # not proven yet
    message = smtp.wait_for(to="jane@example.org", subject="Confirm")
    mail_client.get(message.link("/verify/"))
    with transaction(engine, writes=False) as session:
        assert session.execute(select(Partner.user_id)).scalar_one() == user_id


def test_a_verified_partner_user_is_linked_at_once(engine: Engine, program: ProgramKeys) -> None:
    user_id, partner_id = add_partner_user(engine, program.id, "pat@example.org")
    with transaction(engine, writes=False) as session:
        partner = session.get(Partner, partner_id)
        assert partner is not None and partner.user_id == user_id
