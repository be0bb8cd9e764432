"""What an applicant is told by email (pure: subject and text from plain values)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmailText:
    subject: str
    text: str


def application_received(program_name: str, partner_name: str, base_url: str) -> EmailText:
    return EmailText(
        f"We received your application to {program_name}",
        f"Hello {partner_name},\n\n"
        f"Thank you for applying to the {program_name} partner program. The team reviews every application "
        "and you will hear from us by email as soon as it is decided.\n\n"
        f"You can already log in to see where your application stands: {base_url}/login\n",
    )


def application_approved(program_name: str, partner_name: str, base_url: str) -> EmailText:
    return EmailText(
        f"Welcome to {program_name}: your application is approved",
        f"Hello {partner_name},\n\n"
        f"Your application to the {program_name} partner program is approved. Log in to read the welcome "
        "kit, create your first link and start earning:\n\n"
        f"{base_url}/login\n",
    )


def application_rejected(program_name: str, partner_name: str, reason: str | None) -> EmailText:
    because = f"\n\nThe team's note: {reason.strip()}" if reason and reason.strip() else ""
    return EmailText(
        f"Your application to {program_name}",
        f"Hello {partner_name},\n\n"
        f"Thank you for your interest in the {program_name} partner program. We are not able to accept "
        f"your application at this time.{because}\n",
    )
