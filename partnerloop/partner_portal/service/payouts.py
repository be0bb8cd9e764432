"""The partner's payout details, tax details and payouts, through the payout domain."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from partnerloop.config import Settings
from partnerloop.kit.errors import InvalidInput
from partnerloop.models import Partner, Payout, Program
from partnerloop.partner_portal.rules import next_run_date
from partnerloop.payout.schemas import PayoutMethodIn, PayoutMethodOut
from partnerloop.payout.service import methods as payout_methods

METHOD_FIELDS: dict[str, tuple[str, ...]] = {
    "paypal": ("email",),
    "wise": ("account_holder_name", "email", "iban", "bic", "account_number", "routing_number", "recipient_type"),
    "stripe_connect": ("account_id",),
    "manual": ("instructions",),
}
TAX_FIELDS = ("form", "legal_name", "country", "tax_id", "address")
_method_in: TypeAdapter[Any] = TypeAdapter(PayoutMethodIn)
_FIELD_NAMES = {
    "email": "Email",
    "account_holder_name": "Account holder",
    "iban": "IBAN",
    "bic": "BIC",
    "account_number": "Account number",
    "routing_number": "Routing number",
    "account_id": "Stripe account id",
    "instructions": "Instructions",
    "legal_name": "Legal name",
    "country": "Tax country",
    "tax_id": "Tax id",
    "address": "Address",
    "currency": "Currency",
}


class PayoutDetailsInvalid(InvalidInput):
    pass


@dataclass(frozen=True)
class PayoutsPage:
    method: PayoutMethodOut | None
    payouts: list[Payout]
    schedule: str  # "manual" | "monthly"
    next_run: date | None


def has_method(session: Session, program: Program, partner: Partner) -> bool:
    return payout_methods.method_of(session, program.id, partner.id) is not None


def schedule_of(session: Session, program: Program, today: date) -> tuple[str, date | None]:
    found = payout_methods.program_settings(session, program.id)
    return found.schedule, next_run_date(found.schedule, found.day_of_month, today)


def payouts_page(session: Session, program: Program, partner: Partner, today: date) -> PayoutsPage:
    method = payout_methods.method_of(session, program.id, partner.id)
    schedule, next_run = schedule_of(session, program, today)
    return PayoutsPage(
        method=payout_methods.method_out(method, program) if method is not None else None,
        payouts=list(reversed(payout_methods.payouts_of_partner(session, program.id, partner.id))),
        schedule=schedule,
        next_run=next_run,
    )


def method_body(fields: Mapping[str, str]) -> dict[str, Any]:
    """The payout domain's payout-method body from the form: the chosen method's fields, the tax form if any."""
    kind = fields.get("type", "")
    body: dict[str, Any] = {"type": kind}
    for name in METHOD_FIELDS.get(kind, ()):
        value = fields.get(f"{kind}_{name}", "").strip()
        if value:
            body[name] = value
    if fields.get("currency", "").strip():
        body["currency"] = fields["currency"].strip().lower()
    if fields.get("tax_form"):
        body["tax"] = {name: fields.get(f"tax_{name}", "").strip() for name in TAX_FIELDS}
    return body


def _explain(error: ValidationError) -> str:
    first = error.errors()[0]
    where = [str(part) for part in first.get("loc", ()) if part not in ("paypal", "wise", "stripe_connect", "manual")]
    field = _FIELD_NAMES.get(where[-1], where[-1].replace("_", " ")) if where else ""
    if first.get("type") == "union_tag_invalid" or (where and where[-1] == "type"):
        return "Choose how you want to be paid."
    message = str(first.get("msg", "is not valid"))
    return f"{field}: {message[:1].lower()}{message[1:]}." if field else f"{message}."


def save_method(
    session: Session, settings: Settings, program: Program, partner: Partner, fields: Mapping[str, str]
) -> None:
    """Check the form against the payout domain's rules and save the method (and tax details when given)."""
    try:
        body = _method_in.validate_python(method_body(fields))
    except ValidationError as error:
        raise PayoutDetailsInvalid(_explain(error)) from None
    payout_methods.set_method(session, settings, program, partner.id, body)
