"""Emails go out through the durable job queue: enqueued in the caller's transaction, sent by a worker.

`SMTP_URL` chooses the relay: `smtp://[user:password@]host[:port]` (no encryption: a relay on the
same machine or network), `smtp+starttls://…` (STARTTLS) or `smtps://…` (TLS from the start). Unset: the
message is written to the log instead, so local development needs no mail server.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from sqlalchemy.orm import Session

from partnerloop.config import Settings, get_settings
from partnerloop.jobs.queue import enqueue

log = logging.getLogger("partnerloop.email")

SEND_EMAIL_JOB = "send_email"
SMTP_TIMEOUT_S = 20

_configured: Settings | None = None


def configure_email(settings: Settings | None) -> None:
    """Use these settings (SMTP_URL, MAIL_FROM) for sending; None: read them from the environment (the default)."""
    global _configured
    _configured = settings


def email_settings() -> Settings:
    return _configured or get_settings()


def enqueue_email(session: Session, *, to: str, subject: str, text: str, html: str | None = None) -> str | None:
    """Queue one email in the caller's transaction; return the job id."""
    payload: dict[str, str] = {"to": to, "subject": subject, "text": text}
    if html is not None:
        payload["html"] = html
    return enqueue(session, SEND_EMAIL_JOB, payload, max_attempts=6)


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


def build_message(sender: str, to: str, subject: str, text: str, html: str | None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="partnerloop")
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send_now(settings: Settings, *, to: str, subject: str, text: str, html: str | None = None) -> None:
    """Hand the message to the SMTP relay (or the log when SMTP_URL is unset); raises on failure."""
    message = build_message(settings.mail_from, to, subject, text, html)
    if not settings.smtp_url:
        log.info("email (SMTP_URL unset, not sent) to %s: %s\n%s", to, subject, text)
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
