"""HubSpot's share of the outbox, as pure decisions: which events sync, the token and host checks, and the
CRM records (contacts, deals) built from Partnerloop's rows."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

HUBSPOT_API = "https://api.hubapi.com"
EVENTS = ("partner.created", "partner.approved", "sale.created")  # and every commission.* event
ID_PROPERTY = "partnerloop_id"  # a unique-value custom property on contacts and deals (docs/integrations.md)
BATCH = 100  # HubSpot's batch endpoints take at most 100 inputs


def syncs(event_type: str) -> bool:
    return event_type in EVENTS or event_type.startswith("commission.")


def check_token(token: str) -> str | None:
    """None when `token` looks like a HubSpot private-app access token (pat-…), else why not."""
    if not token.startswith("pat-") or len(token) < 12 or len(token) > 500:
        return "must be a HubSpot private-app access token (pat-…)."
    if any(char.isspace() for char in token):
        return "must not contain spaces."
    return None


def api_base(configured: str | None, *, allow_private: bool) -> str:
    """The API host: HubSpot's own, unless ALLOW_PRIVATE_INTEGRATIONS lets HUBSPOT_API_BASE name a stand-in."""
    if configured and allow_private and urlsplit(configured).scheme in ("http", "https"):
        return configured.rstrip("/")
    return HUBSPOT_API


def mask(token: str) -> str:
    return f"{token[:4]}…{token[-4:]}"


def _money(amount: int) -> str:
    return f"{amount / 100:.2f}"  # HubSpot number properties: major units as text, never used in arithmetic


def partner_contact(partner: dict[str, Any], program_name: str, currency: str) -> dict[str, Any]:
    """A partner as a contact upserted by email: program, group, revenue and earnings as properties."""
    first, _, last = str(partner["name"]).partition(" ")
    return {
        "email": partner["email"],
        "firstname": first,
        "lastname": last,
        "partnerloop_role": "partner",
        "partnerloop_program": program_name,
        "partnerloop_group": partner.get("group") or "",
        "partnerloop_status": partner.get("status") or "",
        "partnerloop_revenue": _money(int(partner.get("revenue") or 0)),
        "partnerloop_earnings": _money(int(partner.get("earnings") or 0)),
        "partnerloop_currency": currency.upper(),
    }


def customer_contact(customer: dict[str, Any], program_name: str) -> dict[str, Any]:
    """A referred customer as a contact upserted by its Partnerloop id (we keep no customer email)."""
    return {
        ID_PROPERTY: customer["id"],
        "firstname": customer.get("name") or customer["external_id"],
        "partnerloop_role": "customer",
        "partnerloop_program": program_name,
        "partnerloop_customer_id": customer["external_id"],
    }


def sale_deal(sale: dict[str, Any], program_name: str) -> dict[str, Any]:
    name = f"{program_name}: {sale.get('product_id') or 'sale'} {sale.get('invoice_id') or sale['id']}"
    return {
        ID_PROPERTY: sale["id"],
        "dealname": name[:200],
        "amount": _money(int(sale.get("amount") or 0)),
        "deal_currency_code": str(sale.get("currency") or "").upper(),
        "dealstage": "closedwon",
        "pipeline": "default",
        "closedate": sale.get("occurred_at") or "",
    }
