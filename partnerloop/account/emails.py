"""The account emails: subject, plain text and a small HTML version (escaped), nothing loaded remotely."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def _email(subject: str, lines: list[str], link: str, action: str) -> Email:
    text = "\n\n".join([*lines, f"{action}: {link}", "If you did not expect this email, ignore it."])
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in lines)
    html = (
        f"<!doctype html><html><body>{paragraphs}"
        f'<p><a href="{escape(link)}">{escape(action)}</a></p>'
        f"<p>{escape(link)}</p><p>If you did not expect this email, ignore it.</p></body></html>"
    )
    return Email(subject=subject, text=text, html=html)


def password_reset(link: str, minutes: int) -> Email:
    return _email(
        "Reset your Partnerloop password",
        [
            f"Someone asked to reset the password of this Partnerloop account. The link works once, for {minutes} minutes."
        ],
        link,
        "Choose a new password",
    )


def verify_email(link: str) -> Email:
    return _email(
        "Confirm your email address",
        ["Confirm that this address belongs to your Partnerloop account."],
        link,
        "Confirm my email address",
    )


def member_invitation(link: str, workspace_name: str, role: str, inviter: str) -> Email:
    return _email(
        f"{inviter} invited you to {workspace_name} on Partnerloop",
        [f"{inviter} invited you to join the team of {workspace_name} as {role}."],
        link,
        "Accept the invitation",
    )


def partner_invitation(link: str, program_name: str, inviter: str) -> Email:
    return _email(
        f"Join the {program_name} partner program",
        [f"{inviter} invited you to become a partner of {program_name}: links, earnings and payouts in one place."],
        link,
        "Accept the invitation",
    )
