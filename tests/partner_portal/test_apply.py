"""The public application page: applying, auto-approval or review, the outcome by email (a real SMTP server)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.models import ApplicationAnswer, Enrollment, Partner, PartnerApplication, User
from tests.account.factories import PASSWORD, add_partner_user
from tests.account.helpers import csrf_of, login, post_form
from tests.conftest import ProgramKeys
from tests.notify.smtp import SmtpRecorder
from tests.partner_portal.helpers import APPLICANT_PASSWORD, add_question, apply, count, set_form

OWNER = "owner-acme@example.com"
JO = "jo@creator.example"


def _enrollment(engine: Engine, email: str) -> tuple[Partner, Enrollment]:
    with transaction(engine, writes=False) as session:
        row = session.execute(
            select(Partner, Enrollment)
            .join(Enrollment, Enrollment.partner_id == Partner.id)
            .where(Partner.email == email)
        ).one()
        return row[0], row[1]


def test_an_applicant_to_a_reviewed_program_waits_as_pending_and_is_told_by_email(
    mail_client: TestClient, engine: Engine, program: ProgramKeys, smtp: SmtpRecorder
) -> None:
    audience = add_question(engine, program.id, "How large is your audience?")
    channel = add_question(engine, program.id, "Main channel", kind="choice", options="Blog\nYouTube")
    page = mail_client.get(f"/apply/{program.id}")
    assert page.status_code == 200
    assert "How large is your audience?" in page.text and "<option>YouTube</option>" in page.text

    response = apply(mail_client, program.id, **{f"q_{audience}": "12k readers", f"q_{channel}": "YouTube"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/apply/{program.id}/thanks?status=pending&verify=1"
    thanks = mail_client.get(response.headers["location"])
    assert "Thank you for applying" in thanks.text and "Confirm your email address" in thanks.text

    partner, enrollment = _enrollment(engine, JO)
    assert (enrollment.status, partner.name, partner.country, partner.website) == (
        "pending", "Jo Applicant", "de", "https://jo.example",
    )  # fmt: skip
    assert partner.user_id is None  # linked only once the address is proven
    with transaction(engine, writes=False) as session:
        application = session.execute(select(PartnerApplication)).scalar_one()
        answers = session.execute(select(ApplicationAnswer).order_by(ApplicationAnswer.position)).scalars().all()
    assert application.status == "pending" and application.terms_accepted_at is not None
    assert [(a.question_label, a.value) for a in answers] == [
        ("How large is your audience?", "12k readers"),
        ("Main channel", "YouTube"),
    ]
    received = smtp.wait_for(to=JO, subject="We received your application to Acme")
    assert "reviews every application" in received.text
    confirm = smtp.wait_for(to=JO, subject="Confirm your email")

    # Once the address is confirmed and the applicant logs in, the partner pages say where it stands.
    mail_client.get(confirm.link("/verify/"))
    assert login(mail_client, JO, APPLICANT_PASSWORD).headers["location"] == "/partner"
    status = mail_client.get("/partner")
    assert status.status_code == 200 and "Your application is under review" in status.text
    assert "/partner/links" not in status.text  # no portal sections before approval
    assert "under review" in mail_client.get("/partner/links").text


def test_an_applicant_to_an_auto_approving_program_is_approved_at_once_and_emailed(
    mail_client: TestClient, engine: Engine, program: ProgramKeys, smtp: SmtpRecorder
) -> None:
    set_form(engine, program.id, auto_approve=True, headline="Earn with Acme")
    assert "Earn with Acme" in mail_client.get(f"/apply/{program.id}").text
    response = apply(mail_client, program.id)
    assert response.headers["location"] == f"/apply/{program.id}/thanks?status=approved&verify=1"
    assert "You are in" in mail_client.get(response.headers["location"]).text
    _partner, enrollment = _enrollment(engine, JO)
    assert enrollment.status == "approved"
    with transaction(engine, writes=False) as session:
        application = session.execute(select(PartnerApplication)).scalar_one()
    assert (application.status, application.decided_by) == ("approved", "auto")
    approved = smtp.wait_for(to=JO, subject="your application is approved")
    assert "http://testserver/login" in approved.text


def test_a_form_with_mistakes_names_each_one_keeps_the_answers_and_writes_nothing(
    mail_client: TestClient, engine: Engine, program: ProgramKeys, smtp: SmtpRecorder
) -> None:
    audience = add_question(engine, program.id, "How large is your audience?")
    response = apply(mail_client, program.id, website="not a url", accept_terms=None, name="Kept Name")
    assert response.status_code == 422
    assert "Some answers need another look." in response.text
    assert "The website must be a web address" in response.text
    assert "Accept the program&#39;s terms to apply." in response.text
    assert "“How large is your audience?” needs an answer." in response.text
    assert f'aria-describedby="q_{audience}-error"' in response.text
    assert 'value="Kept Name"' in response.text
    assert APPLICANT_PASSWORD not in response.text  # a password is never echoed back
    assert (count(engine, Partner), count(engine, User), count(engine, PartnerApplication)) == (0, 1, 0)
    assert smtp.to(JO) == []


def test_a_password_refused_by_the_policy_leaves_nothing_behind(
    mail_client: TestClient, engine: Engine, program: ProgramKeys, smtp: SmtpRecorder
) -> None:
    response = apply(mail_client, program.id, password="password123")
    assert response.status_code == 422 and "most common ones" in response.text
    assert (count(engine, Partner), count(engine, Enrollment), count(engine, PartnerApplication)) == (0, 0, 0)
    assert count(engine, User) == 1  # the owner only


def test_an_email_with_an_account_logs_in_first_then_applies_without_a_password(
    mail_client: TestClient, engine: Engine, program: ProgramKeys, other_program: ProgramKeys, smtp: SmtpRecorder
) -> None:
    add_partner_user(engine, other_program.id, "kim@creator.example", name="Kim")
    refused = apply(mail_client, program.id, email="kim@creator.example", name="Kim")
    assert refused.status_code == 409 and "log in first, then apply" in refused.text
    assert count(engine, PartnerApplication) == 0

    login(mail_client, "kim@creator.example", PASSWORD)
    page = mail_client.get(f"/apply/{program.id}")
    assert "You apply as <strong>kim@creator.example</strong>" in page.text and 'name="password"' not in page.text
    response = post_form(
        mail_client, f"/apply/{program.id}", {"name": "Kim", "accept_terms": "yes"}, page=f"/apply/{program.id}"
    )
    assert response.headers["location"] == f"/apply/{program.id}/thanks?status=pending&verify=0"
    with transaction(engine, writes=False) as session:
        partner = session.execute(
            select(Partner).where(Partner.email == "kim@creator.example", Partner.workspace_id == program.workspace_id)
        ).scalar_one()
    assert partner.user_id is not None  # a verified login: linked at once
    pending = mail_client.get(f"/partner?program={program.id}")
    assert "Your application is under review" in pending.text
    smtp.wait_for(to="kim@creator.example", subject="We received your application to Acme")


def test_applying_twice_is_refused(mail_client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    assert apply(mail_client, program.id).status_code == 303
    again = apply(TestClient(mail_client.app, base_url="http://testserver"), program.id, password="another long one")
    assert again.status_code == 409 and "has applied to Acme already" in again.text
    assert count(engine, PartnerApplication) == 1


def test_a_form_closed_while_the_applicant_fills_it_in_takes_no_application(
    mail_client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    token = csrf_of(mail_client.get(f"/apply/{program.id}").text)
    set_form(engine, program.id, is_open=False)
    page = mail_client.get(f"/apply/{program.id}")
    assert "Applications are closed" in page.text and f'action="/apply/{program.id}"' not in page.text
    response = mail_client.post(
        f"/apply/{program.id}",
        data={"name": "Jo", "email": JO, "password": APPLICANT_PASSWORD, "accept_terms": "yes", "csrf_token": token},
    )
    assert response.status_code == 409 and "not taking new partners" in response.text
    assert count(engine, Partner) == 0


def test_an_unknown_program_is_a_page_saying_so(mail_client: TestClient, program: ProgramKeys) -> None:
    response = mail_client.get("/apply/01nosuchprogram0000000000")
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]
    assert "no partner program at this address" in response.text
    assert mail_client.get("/apply/01nosuchprogram0000000000/brand.css").status_code == 404


def test_an_application_without_the_forms_token_is_refused(
    mail_client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    response = mail_client.post(
        f"/apply/{program.id}",
        data={"name": "Jo", "email": JO, "password": APPLICANT_PASSWORD, "accept_terms": "yes"},
    )
    assert response.status_code == 403
    assert count(engine, Partner) == 0


def test_the_brand_colour_comes_as_a_stylesheet_with_readable_text(
    mail_client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    set_form(engine, program.id, brand_color="#FFD400")
    page = mail_client.get(f"/apply/{program.id}")
    assert f'href="/apply/{program.id}/brand.css"' in page.text
    assert "style=" not in page.text  # the pages' CSP allows no inline style
    css = mail_client.get(f"/apply/{program.id}/brand.css")
    assert css.headers["content-type"].startswith("text/css")
    assert ".apply-band { background: #ffd400; color: #111827; }" in css.text


def test_the_application_page_is_the_programs_own_and_states_the_offer(
    client: TestClient, program: ProgramKeys
) -> None:
    from tests.commission.factories import make_plan

    before = client.get(f"/apply/{program.id}")
    assert before.status_code == 200 and "data-offer" not in before.text  # no plan yet: no offer to state
    make_plan(client, program, rules=[
        {"event": "sale", "reward": {"type": "percent", "rate_bps": 3000}, "duration": {"kind": "months", "months": 12}},
        {"event": "lead", "reward": {"type": "flat", "amount": 500}},
    ])  # fmt: skip
    page = client.get(f"/apply/{program.id}")
    assert "Earn 30% of every payment for 12 months and 5.00 USD for every sign-up." in page.text
    body = page.text.split("<body>", 1)[1]
    assert "Partnerloop" not in body  # the program's name and colours, not ours
    assert f'<a class="brand" href="/apply/{program.id}">Acme</a>' in body
