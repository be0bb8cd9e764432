"""Slack's share of the outbox, as pure decisions: which events a program posts, the Block Kit message of
each, and the URL check (when to try again: integrations/rules.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# What a manager picks (the API's and the page's names) -> the outbox event it comes from.
CHOICES: dict[str, str] = {
    "partner.applied": "partner.created",
    "sale.created": "sale.created",
    "alert.raised": "alert.raised",
    "goal.achieved": "goal.achieved",
}
LABELS: dict[str, str] = {
    "partner.applied": "New partner application",
    "sale.created": "Sales over an amount",
    "alert.raised": "Alerts",
    "goal.achieved": "Goals reached",
}
SLACK_PREFIX = "https://hooks.slack.com/"


def unknown_choices(choices: list[str]) -> list[str]:
    return [choice for choice in choices if choice not in CHOICES]


def event_types_of(choices: list[str]) -> set[str]:
    return {CHOICES[choice] for choice in choices if choice in CHOICES}


def check_webhook_url(url: str, *, allow_private: bool) -> str | None:
    """None when `url` may be posted to, else why not: Slack's own host only, unless ALLOW_PRIVATE_INTEGRATIONS
    (development and tests) lets any http(s) URL stand in for it."""
    parts = urlsplit(url)
    if allow_private:
        return None if parts.scheme in ("http", "https") and parts.hostname else "must be an http(s) URL."
    if not url.startswith(SLACK_PREFIX) or parts.scheme != "https" or parts.hostname != "hooks.slack.com":
        return f"must be a Slack incoming-webhook URL ({SLACK_PREFIX}services/…)."
    if parts.port not in (None, 443) or parts.username or parts.password:
        return f"must be a Slack incoming-webhook URL ({SLACK_PREFIX}services/…)."
    return None


def mask(url: str) -> str:
    """The URL as shown back: host and the last four characters, the secret path hidden."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…{url[-4:]}"


def wants(
    choices: list[str], sale_min_amount: int, program_currency: str, event_type: str, data: dict[str, Any]
) -> bool:
    """Whether a program with these choices posts this event. Sales: at least `sale_min_amount` in the
    program's currency (a sale in another currency only when the minimum is 0)."""
    if event_type not in event_types_of(choices):
        return False
    if event_type == "partner.created":
        return data.get("status") == "pending"  # an application to decide, not a partner the API added
    if event_type == "sale.created":
        if sale_min_amount <= 0:
            return True
        same = str(data.get("currency", "")).lower() == program_currency.lower()
        return same and int(data.get("amount") or 0) >= sale_min_amount
    return True


@dataclass(frozen=True)
class Message:
    text: str  # the notification's plain text (also Slack's fallback)
    blocks: list[dict[str, Any]]


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"  # display only: never used in arithmetic


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str, url: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}],
    }


def message(program_name: str, event_type: str, data: dict[str, Any], base_url: str) -> Message:
    """The Block Kit message for one event, with a link back to the dashboard."""
    root = base_url.rstrip("/")
    header = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Partnerloop · {program_name}"}]}
    if event_type == "partner.created":
        text = f"New partner application: {data.get('name')} ({data.get('email')})"
        link = _button("Review the application", f"{root}/manage/partners/{data.get('id')}")
    elif event_type == "sale.created":
        text = f"New sale: {_money(int(data.get('amount') or 0), str(data.get('currency') or ''))}"
        if data.get("product_id"):
            text += f" · {data['product_id']}"
        link = _button("Open commissions", f"{root}/manage/commissions")
    elif event_type == "alert.raised":
        text = f"Alert ({data.get('severity')}): {data.get('kind')} · {data.get('detail')}"
        link = _button("Open the alert", f"{root}/manage/alerts/{data.get('id')}")
    else:
        progress = data.get("progress") or {}
        text = f"Goal reached: {data.get('name')} ({progress.get('current')} of {progress.get('target')})"
        link = _button("Open goals", f"{root}/manage/goals")
    return Message(text=text, blocks=[header, _section(f"*{text}*"), link])
