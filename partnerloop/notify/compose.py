"""A notification email in the program's branding: plain text and HTML (escaped, inline styles, nothing
loaded remotely), with why it was sent and how to stop it. Pure: plain values in, an Email out."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from partnerloop.models.partner_portal import DEFAULT_BRAND_COLOR


@dataclass(frozen=True)
class Brand:
    program_name: str
    color: str = DEFAULT_BRAND_COLOR  # "#rrggbb", the program's application page colour


@dataclass(frozen=True)
class Action:
    label: str
    url: str


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def compose(
    brand: Brand,
    *,
    subject: str,
    lines: list[str],
    action: Action | None,
    why: str,
    unsubscribe_url: str,
    settings_url: str,
) -> Email:
    """The email: the lines, one button, then why it came, a one-click way out and the settings page."""
    footer = [why, f"Stop these emails: {unsubscribe_url}", f"All your email settings: {settings_url}"]
    text_parts = [*lines, *([f"{action.label}: {action.url}"] if action else []), "--", *footer]
    text = "\n\n".join(text_parts) + "\n"
    color = brand.color if _is_hex(brand.color) else DEFAULT_BRAND_COLOR
    paragraphs = "".join(f'<p style="margin:0 0 14px">{escape(line)}</p>' for line in lines)
    button = (
        f'<p style="margin:20px 0"><a href="{escape(action.url)}" style="background:{color};color:#fff;'
        f'padding:10px 18px;border-radius:6px;text-decoration:none;display:inline-block">{escape(action.label)}</a></p>'
        if action
        else ""
    )
    html = (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"></head>'
        '<body style="margin:0;background:#f4f4f5;font-family:system-ui,-apple-system,Segoe UI,sans-serif;color:#18181b">'
        '<div style="max-width:560px;margin:0 auto;padding:16px">'
        f'<div style="background:{color};color:#fff;padding:14px 18px;border-radius:8px 8px 0 0;font-weight:600">'
        f"{escape(brand.program_name)}</div>"
        f'<div style="background:#fff;padding:18px;border-radius:0 0 8px 8px">{paragraphs}{button}</div>'
        f'<p style="color:#52525b;font-size:13px;margin:14px 4px">{escape(why)} '
        f'<a href="{escape(unsubscribe_url)}" style="color:#52525b">Stop these emails</a> · '
        f'<a href="{escape(settings_url)}" style="color:#52525b">All your email settings</a></p>'
        "</div></body></html>"
    )
    return Email(subject=subject, text=text, html=html)


def _is_hex(color: str) -> bool:
    return len(color) == 7 and color.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in color[1:])
