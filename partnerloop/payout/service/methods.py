"""Partners' payout methods and tax data (encrypted at rest, shown masked); programs' payout settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from partnerloop.config import Settings
from partnerloop.kit.errors import AppError, InvalidInput, NotFound
from partnerloop.kit.money import UnknownCurrency, normalize_currency
from partnerloop.models import Payout, PayoutMethod, PayoutSettings, Program
from partnerloop.partner import service as partner_service
from partnerloop.payout import repository
from partnerloop.payout.rules import (
    MethodType,
    currency_problem,
    email_problem,
    iban_problem,
    mask,
    mask_email,
    normalize_iban,
)
from partnerloop.payout.schemas import (
    ManualIn,
    PayoutMethodIn,
    PayoutMethodOut,
    PayoutSettingsIn,
    PayoutSettingsOut,
    PaypalIn,
    StripeConnectIn,
    TaxIn,
    WiseIn,
)
from partnerloop.payout.secrets import decrypt_json, encrypt_json


class PayoutError(AppError):
    pass


class InvalidPayoutDetails(InvalidInput):
    pass


class UnsupportedCurrency(InvalidInput):
    pass


class PayoutMethodMissing(NotFound):
    pass


def _details(body: PayoutMethodIn) -> tuple[dict[str, Any], dict[str, Any]]:
    """(details to encrypt, masked details to show); raises InvalidPayoutDetails."""
    if isinstance(body, PaypalIn):
        email = body.email.strip()
        problem = email_problem(email)
        if problem:
            raise InvalidPayoutDetails(problem)
        return {"email": email}, {"email": mask_email(email)}
    if isinstance(body, WiseIn):
        details: dict[str, Any] = {
            "account_holder_name": body.account_holder_name,
            "recipient_type": body.recipient_type,
            "email": body.email,
            "bic": body.bic,
        }
        shown: dict[str, Any] = {"account_holder_name": body.account_holder_name, "recipient_type": body.recipient_type}
        if body.iban:
            problem = iban_problem(body.iban)
            if problem:
                raise InvalidPayoutDetails(problem)
            details["iban"] = normalize_iban(body.iban)
            shown["iban"] = mask(details["iban"])
        elif body.account_number and body.routing_number:
            details["account_number"], details["routing_number"] = body.account_number, body.routing_number
            shown["account_number"] = mask(body.account_number)
        elif body.email:
            problem = email_problem(body.email)
            if problem:
                raise InvalidPayoutDetails(problem)
            shown["email"] = mask_email(body.email)
        else:
            raise InvalidPayoutDetails("Wise needs an IBAN, an account and routing number, or the recipient's email.")
        return details, shown
    if isinstance(body, StripeConnectIn):
        if not body.account_id.startswith("acct_"):
            raise InvalidPayoutDetails("A Stripe Connect account id starts with 'acct_'.")
        return {"account_id": body.account_id}, {"account_id": body.account_id}
    assert isinstance(body, ManualIn)
    return {"instructions": body.instructions}, {"instructions": body.instructions}


def _tax(tax: TaxIn) -> tuple[dict[str, Any], dict[str, Any]]:
    country = tax.country.upper()
    if tax.form == "w9" and country != "US":
        raise InvalidPayoutDetails("A W-9 is for US persons; foreign partners give a W-8BEN.")
    if tax.form == "w8ben" and country == "US":
        raise InvalidPayoutDetails("A W-8BEN is for foreign persons; US partners give a W-9.")
    stored = {**tax.model_dump(), "country": country}
    shown = {
        "form": tax.form,
        "legal_name": tax.legal_name,
        "country": country,
        "tax_id": mask(tax.tax_id),
        "address": "•••",
    }
    return stored, shown


def set_method(
    session: Session, settings: Settings, program: Program, partner_id: str, body: PayoutMethodIn
) -> PayoutMethod:
    """Save the partner's payout method (replacing the previous one); raises on bad details."""
    partner_service.get_partner(session, program, partner_id)
    method_type = MethodType(body.type)
    try:
        currency = normalize_currency(body.currency or program.currency)
    except UnknownCurrency as error:
        raise UnsupportedCurrency(f"'{body.currency}' is not an ISO 4217 currency code.") from error
    problem = currency_problem(method_type, currency)
    if problem:
        raise UnsupportedCurrency(problem)
    details, shown = _details(body)
    tax_stored, tax_shown = _tax(body.tax) if body.tax is not None else (None, None)
    method = repository.get_method(session, program.id, partner_id)
    if method is None:
        method = PayoutMethod(program_id=program.id, partner_id=partner_id)
        session.add(method)
    elif body.tax is None and method.tax_encrypted is not None:
        tax_stored = None  # keep the tax data already on file
        tax_shown = method.tax_masked
    method.type = method_type.value
    method.currency = currency
    method.details_encrypted = encrypt_json(settings, details)
    method.details_masked = shown
    if tax_stored is not None:
        method.tax_encrypted = encrypt_json(settings, tax_stored)
    method.tax_masked = tax_shown
    session.flush()
    return method


def method_problem(method: PayoutMethod | None, program_currency: str) -> str | None:
    """Why a partner cannot be paid with this method (None: they can)."""
    if method is None:
        return "No payout method: the partner must add PayPal, bank (Wise) or Stripe Connect details to be paid."
    try:
        method_type = MethodType(method.type)
    except ValueError:
        return f"Unknown payout method '{method.type}'."
    return currency_problem(method_type, method.currency)


def method_out(method: PayoutMethod, program: Program) -> PayoutMethodOut:
    problem = method_problem(method, program.currency)
    return PayoutMethodOut(
        partner_id=method.partner_id,
        type=method.type,
        currency=method.currency,
        details=dict(method.details_masked or {}),
        tax=dict(method.tax_masked) if method.tax_masked else None,
        valid=problem is None,
        problem=problem,
        updated_at=method.updated_at,
    )


def get_method(session: Session, program: Program, partner_id: str) -> PayoutMethod:
    partner_service.get_partner(session, program, partner_id)
    method = repository.get_method(session, program.id, partner_id)
    if method is None:
        raise PayoutMethodMissing(
            f"Partner {partner_id} has no payout method yet: earnings accrue but are not paid until one is set."
        )
    return method


def method_of(session: Session, program_id: str, partner_id: str) -> PayoutMethod | None:
    """The partner's payout method in the program, or None when they have not set one."""
    return repository.get_method(session, program_id, partner_id)


def payouts_of_partner(session: Session, program_id: str, partner_id: str) -> list[Payout]:
    """The partner's payouts in the program, oldest first."""
    return repository.payouts_of_partner(session, program_id, partner_id)


def method_details(settings: Settings, method: PayoutMethod) -> dict[str, Any]:
    """The decrypted details (for exports and provider calls only, never for display)."""
    return decrypt_json(settings, method.details_encrypted)


def program_settings(session: Session, program_id: str) -> PayoutSettings:
    found = repository.get_settings(session, program_id)
    if found is None:
        found = PayoutSettings(program_id=program_id, schedule="manual", day_of_month=1, net_days=15)
    return found


def settings_out(found: PayoutSettings) -> PayoutSettingsOut:
    return PayoutSettingsOut(
        schedule=found.schedule,
        day_of_month=found.day_of_month,
        net_days=found.net_days,
        stripe_secret_key_set=bool(found.stripe_secret_encrypted),
    )


def update_settings(session: Session, settings: Settings, program: Program, body: PayoutSettingsIn) -> PayoutSettings:
    found = repository.get_settings(session, program.id)
    if found is None:
        found = PayoutSettings(program_id=program.id, schedule="manual", day_of_month=1, net_days=15)
        session.add(found)
    if body.schedule is not None:
        found.schedule = body.schedule
    if body.day_of_month is not None:
        found.day_of_month = body.day_of_month
    if body.net_days is not None:
        found.net_days = body.net_days
    if body.stripe_secret_key is not None:
        found.stripe_secret_encrypted = encrypt_json(settings, {"key": body.stripe_secret_key})
    session.flush()
    return found


def stripe_key(session: Session, settings: Settings, program_id: str) -> str | None:
    """The program's own Stripe secret key, else the deployment's STRIPE_SECRET_KEY."""
    found = repository.get_settings(session, program_id)
    if found is not None and found.stripe_secret_encrypted:
        return str(decrypt_json(settings, found.stripe_secret_encrypted)["key"])
    return settings.stripe_secret_key


def provider_configured(session: Session, settings: Settings, program_id: str, method: MethodType) -> bool:
    """Can payouts of `method` be sent by its provider's API now? PayPal: PAYPAL_CLIENT_ID and
    PAYPAL_CLIENT_SECRET; Stripe Connect: the program's secret key or STRIPE_SECRET_KEY."""
    if method is MethodType.PAYPAL:
        return bool(settings.paypal_client_id and settings.paypal_client_secret)
    if method is MethodType.STRIPE_CONNECT:
        return stripe_key(session, settings, program_id) is not None
    return False


_configured: Settings | None = None


def configure_payouts(settings: Settings | None) -> None:
    """Use these settings (provider URLs, keys) in payout runs and jobs; None: read the environment."""
    global _configured
    _configured = settings


def payout_settings() -> Settings:
    from partnerloop.config import get_settings

    return _configured or get_settings()
