"""Emails through the job queue to a real SMTP server on loopback; retried when the relay is down."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, select, update

from partnerloop.config import Settings
from partnerloop.db import transaction
from partnerloop.jobs.runner import run_next_job
from partnerloop.models import Job
from partnerloop.notify.email import (
    OutgoingEmail,
    configure_email,
    enqueue_email,
    enqueue_emails,
    parse_smtp_url,
    send_now,
)
from tests.conftest import make_settings
from tests.notify.smtp import SmtpRecorder


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "username"),
    [
        ("smtp://127.0.0.1:2525", "127.0.0.1", 2525, "plain", None),
        ("smtp://relay.example", "relay.example", 25, "plain", None),
        ("smtp+starttls://user%40x:p%40ss@relay.example", "relay.example", 587, "starttls", "user@x"),
        ("smtps://relay.example:2465", "relay.example", 2465, "tls", None),
    ],
    ids=["plain with a port", "plain on port 25", "STARTTLS with credentials", "TLS from the start"],
)
def test_smtp_urls_are_understood(url: str, host: str, port: int, security: str, username: str | None) -> None:
    target = parse_smtp_url(url)
    assert (target.host, target.port, target.security, target.username) == (host, port, security, username)


def test_an_smtp_url_of_another_kind_is_refused_with_a_sentence() -> None:
    with pytest.raises(ValueError, match="SMTP_URL must look like"):
        parse_smtp_url("http://relay.example")


def _run_jobs(engine: Engine) -> None:
    while run_next_job(engine, "test-worker"):
        pass


def test_a_queued_email_is_delivered_with_text_and_html(engine: Engine, database_url: str, smtp: SmtpRecorder) -> None:
    configure_email(make_settings(database_url, smtp_url=smtp.url, mail_from="Acme <partners@acme.test>"))
    with transaction(engine) as session:
        enqueue_email(session, to="jane@example.org", subject="Hello", text="Plain body", html="<p>HTML body</p>")
    _run_jobs(engine)
    message = smtp.wait_for(to="jane@example.org", subject="Hello")
    assert message.text.strip() == "Plain body" and "<p>HTML body</p>" in message.html
    assert message.message["From"] == "Acme <partners@acme.test>" and message.sender == "partners@acme.test"


def test_emails_queued_together_are_each_delivered_to_their_own_recipient(
    engine: Engine, database_url: str, smtp: SmtpRecorder
) -> None:
    configure_email(make_settings(database_url, smtp_url=smtp.url))
    emails = [
        OutgoingEmail(to=f"friend{number}@example.org", subject=f"Reward {number}", text=f"Body {number}")
        for number in range(3)
    ] + [OutgoingEmail(to="ann@example.org", subject="With HTML", text="Plain", html="<p>Rich</p>",
                       headers={"List-Unsubscribe": "<https://acme.test/u>"})]  # fmt: skip
    with transaction(engine) as session:
        job_ids = enqueue_emails(session, emails)
    assert len(set(job_ids)) == 4
    _run_jobs(engine)
    for number in range(3):
        message = smtp.wait_for(to=f"friend{number}@example.org", subject=f"Reward {number}")
        assert message.text.strip() == f"Body {number}"
    rich = smtp.wait_for(to="ann@example.org", subject="With HTML")
    assert "<p>Rich</p>" in rich.html and rich.message["List-Unsubscribe"] == "<https://acme.test/u>"
    with transaction(engine) as session:
        assert enqueue_emails(session, []) == []


def test_an_email_is_not_lost_when_the_relay_is_down(engine: Engine, database_url: str) -> None:
    down = SmtpRecorder()  # its port is free and nothing listens yet
    configure_email(make_settings(database_url, smtp_url=down.url))
    with transaction(engine) as session:
        job_id = enqueue_email(session, to="jane@example.org", subject="Retry me", text="Body")
    _run_jobs(engine)
    with transaction(engine, writes=False) as session:
        job = session.execute(select(Job).where(Job.id == job_id)).scalar_one()
        assert job.status == "queued" and job.attempts == 1 and "Connection refused" in (job.last_error or "")
    with transaction(engine) as session:  # skip the backoff: the relay is back
        session.execute(update(Job).where(Job.id == job_id).values(run_at=job.created_at))
    with down:
        _run_jobs(engine)
        assert down.wait_for(to="jane@example.org", subject="Retry me").text.strip() == "Body"


def test_without_smtp_url_the_email_is_written_to_the_log(caplog: pytest.LogCaptureFixture, settings: Settings) -> None:
    with caplog.at_level(logging.INFO, logger="partnerloop.email"):
        send_now(settings, to="jane@example.org", subject="Logged", text="The body")
    assert "jane@example.org" in caplog.text and "The body" in caplog.text
