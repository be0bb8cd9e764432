"""Emails go out through the durable job queue: enqueued in the caller's transaction, sent by a worker.

`SMTP_URL` chooses the relay: `smtp://[user:password@]host[:port]` (no encryption: a relay on the
same machine or network), `smtp+starttls://…` (STARTTLS) or `smtps://…` (TLS from the start). Unset: the
message is written to the log instead (and kept for the manager's "Sent emails" page, outside production), so
local development needs no mail server.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from partnerloop.config import Settings, get_settings
from partnerloop.jobs.queue import JobSpec, enqueue, enqueue_many
from partnerloop.models import DevEmail

log = logging.getLogger("partnerloop.email")

SEND_EMAIL_JOB = "send_email"
SMTP_TIMEOUT_S = 20
EMAIL_ATTEMPTS = 6

_configured: Settings | None = None


def configure_email(settings: Settings | None) -> None:
    """Use these settings (SMTP_URL, MAIL_FROM) for sending; None: read them from the environment (the default)."""
    global _configured
    _configured = settings


def email_settings() -> Settings:
    return _configured or get_settings()


@dataclass(frozen=True)
class OutgoingEmail:
    """One email to queue with enqueue_emails (`headers`: extra ones, e.g. List-Unsubscribe)."""

    to: str
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] | None = None

    def payload(self) -> dict[str, object]:
        """The send_email job's payload."""
        payload: dict[str, object] = {"to": self.to, "subject": self.subject, "text": self.text}
        if self.html is not None:
            payload["html"] = self.html
        if self.headers:
            payload["headers"] = dict(self.headers)
        return payload


def enqueue_email(
    session: Session,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
) -> str | None:
    """Queue one email in the caller's transaction (`headers`: extra ones, e.g. List-Unsubscribe); return
    the job id."""
    email = OutgoingEmail(to=to, subject=subject, text=text, html=html, headers=headers)
    return enqueue(session, SEND_EMAIL_JOB, email.payload(), max_attempts=EMAIL_ATTEMPTS)


def enqueue_emails(session: Session, emails: Sequence[OutgoingEmail]) -> list[str]:
    """Queue several emails in the caller's transaction with one INSERT (a batch job's emails: no ORM
    flush per email); return the job ids."""
    return enqueue_many(
        session, [JobSpec(SEND_EMAIL_JOB, email.payload(), max_attempts=EMAIL_ATTEMPTS) for email in emails]
    )


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: str  # "plain", "starttls" or "tls"
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://user:pass@host:port` and friends; raises ValueError for anything else."""
    parts = urlsplit(url)
    security = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}.get(parts.scheme)
    if security is None or not parts.hostname:
        raise ValueError(f"SMTP_URL must look like smtp://host:port, smtp+starttls:// or smtps:// (got {url!r}).")
    default_port = 465 if security == "tls" else 587 if security == "starttls" else 25
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or default_port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def build_message(
    sender: str, to: str, subject: str, text: str, html: str | None, headers: dict[str, str] | None = None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="partnerloop")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def keeps_unsent_emails(settings: Settings) -> bool:
    """Without SMTP_URL and outside production, emails are kept for the Sent emails page."""
    return not settings.smtp_url and settings.environment != "production"


def send_now(
    settings: Settings,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    session: Session | None = None,
) -> None:
    """Hand the message to the SMTP relay; raises on failure. SMTP_URL unset: write it to the log (INFO, which
    `partnerloop serve` shows) and, given the caller's `session` outside production, keep it in dev_emails."""
    message = build_message(settings.mail_from, to, subject, text, html, headers)
    if not settings.smtp_url:
        log.info("email not sent (SMTP_URL unset) to %s: %s\n%s", to, subject, text)
        if session is not None and keeps_unsent_emails(settings):
            keep_unsent(session, to=to, subject=subject, text=text, html=html, headers=headers)
        return
    target = parse_smtp_url(settings.smtp_url)
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if target.security == "tls":
        client = smtplib.SMTP_SSL(target.host, target.port, timeout=SMTP_TIMEOUT_S, context=context)
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT_S)
    with client:
        client.ehlo()
        if target.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if target.username:
            client.login(target.username, target.password or "")
        client.send_message(message)


KEPT_UNSENT = 500  # the Sent emails page shows the newest; older ones are dropped


def keep_unsent(
    session: Session, *, to: str, subject: str, text: str, html: str | None, headers: dict[str, str] | None
) -> None:
    """Keep an email that was only logged, dropping the oldest beyond KEPT_UNSENT."""
    session.add(DevEmail(to_address=to, subject=subject[:998], text=text, html=html, headers=headers or None))
    session.flush()
    cutoff = session.execute(
        select(DevEmail.id).order_by(DevEmail.id.desc()).offset(KEPT_UNSENT).limit(1)
    ).scalar_one_or_none()
    if cutoff is not None:
        session.execute(delete(DevEmail).where(DevEmail.id <= cutoff))
