"""Notification jobs: sending one email."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from partnerloop.jobs.queue import job_handler
from partnerloop.notify.email import SEND_EMAIL_JOB, email_settings, send_now


@job_handler(SEND_EMAIL_JOB)
def send_email(session: Session, payload: dict[str, Any]) -> None:
    """Send the queued email; an SMTP failure raises, so the queue retries with backoff."""
    headers = payload.get("headers")
    send_now(
        email_settings(),
        session=session,
        headers={str(name): str(value) for name, value in headers.items()} if isinstance(headers, dict) else None,
        to=str(payload["to"]),
        subject=str(payload["subject"]),
        text=str(payload["text"]),
        html=str(payload["html"]) if payload.get("html") is not None else None,
    )
