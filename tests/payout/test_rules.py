from __future__ import annotations

from datetime import UTC, datetime

import pytest

from partnerloop.payout.rules import (
    MethodType,
    PartnerTotal,
    PayoutStatus,
    currency_problem,
    decide,
    email_problem,
    format_amount,
    iban_problem,
    mask,
    paypal_item_outcome,
    scheduled_run,
)


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("DE89370400440532013000", True),
        ("DE89 3704 0044 0532 0130 00", True),
        ("GB82WEST12345698765432", True),
        ("DE89370400440532013001", False),
        ("DE8937040044053201300", False),
        ("XX", False),
    ],
    ids=["german iban is valid", "spaces are ignored", "uk iban is valid", "one digit off fails the checksum",
         "a german iban one short fails", "garbage fails"],
)  # fmt: skip
def test_iban_checksum(iban: str, valid: bool) -> None:
    assert (iban_problem(iban) is None) is valid


@pytest.mark.parametrize(
    ("email", "valid"),
    [("pat@example.com", True), ("pat@example", False), ("pat example.com", False), ("a..b@example.com", False)],
    ids=["plain address is valid", "no tld fails", "no at sign fails", "double dot fails"],
)
def test_paypal_email(email: str, valid: bool) -> None:
    assert (email_problem(email) is None) is valid


@pytest.mark.parametrize(
    ("method", "currency", "ok"),
    [(MethodType.PAYPAL, "usd", True), (MethodType.PAYPAL, "inr", False), (MethodType.WISE, "inr", True),
     (MethodType.STRIPE_CONNECT, "xyz", False)],
    ids=["paypal pays usd", "paypal cannot pay inr", "wise pays inr", "an unknown code is refused"],
)  # fmt: skip
def test_currency_support(method: MethodType, currency: str, ok: bool) -> None:
    assert (currency_problem(method, currency) is None) is ok


@pytest.mark.parametrize(
    ("amount", "problem", "minimum", "pay", "reason_part"),
    [
        (6000, None, 5000, True, ""),
        (4000, None, 5000, False, "Below the minimum"),
        (-500, None, 5000, False, "net the balance"),
        (9000, "No payout method", 5000, False, "No payout method"),
        (9000, None, None, False, "No exchange rate"),
    ],
    ids=["over the minimum is paid", "under the minimum is carried forward", "a negative net is carried forward",
         "no payout method is skipped with the reason", "no rate for the threshold is skipped"],
)  # fmt: skip
def test_decide(amount: int, problem: str | None, minimum: int | None, pay: bool, reason_part: str) -> None:
    decision = decide(PartnerTotal("p1", "usd", amount, 3), method_problem=problem, minimum=minimum)
    assert decision.pay is pay
    assert reason_part in decision.reason


def test_amount_text_and_masking() -> None:
    assert format_amount(12345, "usd") == "123.45"
    assert format_amount(500, "jpy") == "500"
    assert format_amount(5, "eur") == "0.05"
    assert mask("DE89370400440532013000").endswith("3000") and "8937" not in mask("DE89370400440532013000")


def test_monthly_schedule_with_net_days() -> None:
    assert scheduled_run("monthly", 1, 15, datetime(2026, 5, 1, 3, tzinfo=UTC)) == (
        "monthly:2026-05",
        datetime(2026, 4, 16, tzinfo=UTC),
    )
    assert scheduled_run("monthly", 10, 15, datetime(2026, 5, 9, tzinfo=UTC)) is None
    assert scheduled_run("manual", 1, 15, datetime(2026, 5, 9, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("SUCCESS", PayoutStatus.PAID), ("FAILED", PayoutStatus.FAILED), ("RETURNED", PayoutStatus.FAILED),
     ("UNCLAIMED", None), ("PENDING", None)],
    ids=["success is paid", "failed fails", "returned fails", "unclaimed keeps polling", "pending keeps polling"],
)  # fmt: skip
def test_paypal_item_outcome(status: str, outcome: PayoutStatus | None) -> None:
    assert paypal_item_outcome(status) is outcome
