"""Notification emails end to end: a domain event (webhook emit) -> a notify job -> a branded multipart email
to a real loopback SMTP server with RFC 8058 headers; the one-click POST turns that kind off; the account
page's choices; without SMTP_URL the email is kept for the owner's Sent emails page."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

import partnerloop.job_registry  # noqa: F401  (adds the notification listener, as the app does)
from partnerloop.db import transaction
from partnerloop.jobs.queue import enqueue
from partnerloop.jobs.runner import run_next_job
from partnerloop.models import DevEmail, NotificationPreference, PartnerEngagement, Program
from partnerloop.notify.digest import WEEKLY_DIGEST_JOB
from partnerloop.notify.email import configure_email
from partnerloop.webhook.service import emit
from tests.account.helpers import login, post_form
from tests.conftest import ProgramKeys, make_settings
from tests.notify.smtp import SmtpRecorder, mail_client  # noqa: F401

OWNER = "owner-acme@example.com"
PASSWORD = "correct horse battery"


def _run_jobs(engine: Engine) -> None:
    while run_next_job(engine, "test-worker"):
        pass


def _partner(client: TestClient, program: ProgramKeys, email: str = "ada@example.org") -> str:
    created = client.post("/api/v1/partners", headers=program.headers, json={"email": email, "name": "Ada"})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _earn(engine: Engine, program: ProgramKeys, partner_id: str, amount: int = 980) -> None:
    data = {"partner_id": partner_id, "kind": "sale", "earnings_amount": amount, "earnings_currency": "usd",
            "explanation": "20% of 49.00 USD (rule 1: sale)", "hold_until": "2026-12-31T10:00:00Z"}  # fmt: skip
    with transaction(engine) as session:
        emit(session, program.id, "commission.created", data)


def test_a_new_commission_emails_the_partner_who_can_stop_it_in_one_click(
    engine: Engine, database_url: str, client: TestClient, program: ProgramKeys, smtp: SmtpRecorder
) -> None:
    configure_email(make_settings(database_url, smtp_url=smtp.url))
    partner_id = _partner(client, program)
    _earn(engine, program, partner_id)
    _run_jobs(engine)
    message = smtp.wait_for(to="ada@example.org", subject="You earned $9.80")  # Babel money, in English
    assert "You earned a commission of $9.80: 20% of 49.00 USD" in message.text  # the stored explanation as is
    assert "20% of 49.00 USD" in message.text and "20% of 49.00 USD" in message.html
    assert "because you are a partner of Acme" in message.text and "<!doctype html>" in message.html
    assert message.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = str(message.message["List-Unsubscribe"])
    assert header.startswith("<http://testserver/email/unsubscribe?") and header.endswith(">")
    target = urlsplit(header[1:-1])
    path = f"{target.path}?{target.query}"

    assert client.post(path + "x", data={"List-Unsubscribe": "One-Click"}).status_code == 404  # a forged token
    assert "Stop emails about" in client.get(path).text  # the page asks first
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})  # what a mail client sends: no CSRF, no cookie
    assert done.status_code == 200 and "data-unsubscribed" in done.text
    with transaction(engine, writes=False) as session:
        choice = session.execute(select(NotificationPreference)).scalar_one()
    assert (choice.email, choice.kind, choice.enabled) == ("ada@example.org", "commission_created", False)

    _earn(engine, program, partner_id, amount=1500)
    _run_jobs(engine)
    assert not [m for m in smtp.to("ada@example.org") if "$15.00" in m.subject]


def test_an_smtp_outage_delays_the_notice_and_loses_nothing(
    engine: Engine, database_url: str, client: TestClient, program: ProgramKeys
) -> None:
    down = SmtpRecorder()  # nothing listens on its port yet
    configure_email(make_settings(database_url, smtp_url=down.url))
    partner_id = _partner(client, program)
    _earn(engine, program, partner_id)
    from partnerloop.models import Job

    deadline = time.monotonic() + 20  # the app's own job runner may hold the fan-out or notify job meanwhile
    while True:
        _run_jobs(engine)  # the notify job writes the email job; sending fails and is retried later
        with transaction(engine, writes=False) as session:
            jobs = session.execute(select(Job).where(Job.kind == "send_email")).scalars().all()
            tried = [
                j for j in jobs if j.payload["to"] == "ada@example.org" and j.attempts >= 1 and j.status == "queued"
            ]
        if tried or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    with down:  # the server is up before the job is due again, whichever runner then sends it
        with transaction(engine) as session:
            jobs = session.execute(select(Job).where(Job.kind == "send_email")).scalars().all()
            [job] = [job for job in jobs if job.payload["to"] == "ada@example.org"]
            assert job.status == "queued" and job.attempts == 1
            for waiting in jobs:
                waiting.run_at = waiting.created_at  # due again now
        _run_jobs(engine)
        assert down.wait_for(to="ada@example.org", subject="You earned").text


def test_the_account_page_keeps_each_choice_and_refuses_a_stray_box(
    engine: Engine, client: TestClient, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    login(client, OWNER, PASSWORD)
    page = client.get("/account")
    assert "Email notifications" in page.text and f"{program.id}:weekly_digest" in page.text
    kept = [f"{program.id}:alert_raised", f"{program.id}:new_application"]
    saved = post_form(client, "/account/notifications", {"notify": kept})
    assert saved.status_code == 303
    with transaction(engine, writes=False) as session:
        rows = session.execute(select(NotificationPreference.kind, NotificationPreference.enabled)).all()
    states = dict(rows)
    assert states["alert_raised"] and states["new_application"] and not states["weekly_digest"]
    assert f'value="{program.id}:weekly_digest">' in client.get("/account").text  # now unticked

    stray = post_form(client, "/account/notifications", {"notify": [f"{other_program.id}:weekly_digest"]})
    assert stray.status_code == 422 and "notifications:" in stray.text
    with transaction(engine, writes=False) as session:
        assert (
            dict(session.execute(select(NotificationPreference.kind, NotificationPreference.enabled)).all()) == states
        )


def test_without_smtp_emails_are_kept_for_the_owners_sent_emails_page(
    engine: Engine, client: TestClient, program: ProgramKeys
) -> None:
    partner_id = _partner(client, program)
    _earn(engine, program, partner_id)
    deadline = time.monotonic() + 20  # the app's own job runner may hold the email job meanwhile
    while True:
        _run_jobs(engine)
        with transaction(engine, writes=False) as session:
            found = [row for row in session.execute(select(DevEmail)).scalars() if row.to_address == "ada@example.org"]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    [kept] = found
    assert kept.to_address == "ada@example.org" and "List-Unsubscribe" in (kept.headers or {})
    login(client, OWNER, PASSWORD)
    listing = client.get("/manage/emails", params={"program": program.id})
    assert listing.status_code == 200 and "You earned $9.80" in listing.text
    opened = client.get(f"/manage/emails/{kept.id}", params={"program": program.id})
    assert opened.status_code == 200 and '<a href="http://testserver/partner/commissions?' in opened.text


def test_an_announcement_carries_one_click_headers_that_stop_only_newsletters(
    mail_client: TestClient,  # noqa: F811
    engine: Engine,
    program: ProgramKeys,
    smtp: SmtpRecorder,
) -> None:
    ann = _partner(mail_client, program, "ann@news.test")
    sent = mail_client.post("/api/v1/announcements", json={"title": "Spring launch", "body": "Hello", "email": True},
                            headers=program.headers)  # fmt: skip
    assert sent.status_code == 201, sent.text
    mail = smtp.wait_for(to="ann@news.test", subject="Spring launch")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    target = urlsplit(str(mail.message["List-Unsubscribe"])[1:-1])
    done = mail_client.post(f"{target.path}?{target.query}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "no more newsletters" in done.text
    with transaction(engine, writes=False) as session:
        choice = session.execute(select(PartnerEngagement).where(PartnerEngagement.partner_id == ann)).scalar_one()
    assert choice.newsletter_opt_out


def test_the_weekly_digest_tells_the_team_the_weeks_figures(
    engine: Engine, database_url: str, client: TestClient, program: ProgramKeys, smtp: SmtpRecorder
) -> None:
    configure_email(make_settings(database_url, smtp_url=smtp.url))
    _partner(client, program)
    with transaction(engine) as session:
        enqueue(session, WEEKLY_DIGEST_JOB, {})
    _run_jobs(engine)
    assert not [m for m in smtp.to(OWNER) if "Your week" in m.subject]  # a program less than a week old: none
    with transaction(engine) as session:
        acme = session.get_one(Program, program.id)
        acme.created_at = acme.created_at - timedelta(days=8)
        enqueue(session, WEEKLY_DIGEST_JOB, {})
    _run_jobs(engine)
    digest = smtp.wait_for(to=OWNER, subject="[Acme] Your week: 0 sales, 1 new partners")
    assert "New partners: 1" in digest.text and "the weekly digest of the program" in digest.text
    with transaction(engine) as session:  # the same week again: once per program and week
        enqueue(session, WEEKLY_DIGEST_JOB, {})
    _run_jobs(engine)
    assert len([m for m in smtp.to(OWNER) if "Your week" in m.subject]) == 1
