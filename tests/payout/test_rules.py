from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from partnerloop.commission.rules import CommissionStatus, approval_hold_until, is_payable_at
from partnerloop.payout.rules import (
    Delivery,
    MethodType,
    PartnerTotal,
    PayoutStatus,
    currency_problem,
    decide,
    delivery_for,
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


NO_METHOD = "No payout method: add one."
BANNED = "The partner is banned: payouts are held."


@pytest.mark.parametrize(
    ("amount", "problems", "minimum", "pay", "reasons"),
    [
        (6000, [], 5000, True, []),
        (4000, [], 5000, False, ["Below the minimum"]),
        (-500, [], 5000, False, ["net the balance"]),
        (9000, [NO_METHOD], 5000, False, ["No payout method"]),
        (2000, [NO_METHOD], 5000, False, ["Below the minimum", "No payout method"]),
        (2000, [BANNED, NO_METHOD], 5000, False, ["Below the minimum", "banned", "No payout method"]),
        (-500, [NO_METHOD], 5000, False, ["net the balance", "No payout method"]),
        (9000, [], None, False, ["No exchange rate"]),
    ],
    ids=["over the minimum is paid", "under the minimum is carried forward", "a negative net is carried forward",
         "no payout method is skipped with the reason", "under the minimum without a method hears both",
         "a banned partner under the minimum without a method hears all three",
         "a negative net without a method hears both", "no rate for the threshold is skipped"],
)  # fmt: skip
def test_decide(amount: int, problems: list[str], minimum: int | None, pay: bool, reasons: list[str]) -> None:
    decision = decide(PartnerTotal("p1", "usd", amount, 3), problems=problems, minimum=minimum)
    assert decision.pay is pay
    assert len(decision.reasons) == len(reasons)
    for said, part in zip(decision.reasons, reasons, strict=True):
        assert part in said and part in decision.reason


T0 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "hold_until", "cutoff", "payable"),
    [
        (CommissionStatus.APPROVED, T0, T0, True),
        (CommissionStatus.APPROVED, T0 + timedelta(seconds=1), T0, False),
        (CommissionStatus.PENDING, T0 - timedelta(days=1), T0, False),
        (CommissionStatus.ON_HOLD, T0 - timedelta(days=1), T0, False),
        (CommissionStatus.PAID, T0 - timedelta(days=1), T0, False),
    ],
    ids=["an approved commission whose hold ended at the cutoff is paid",
         "an approved commission still in its hold at the cutoff waits (a run with NET days)",
         "a pending commission is not paid", "a commission on hold is not paid", "a paid commission is not paid again"],
)  # fmt: skip
def test_payable_at(status: CommissionStatus, hold_until: datetime, cutoff: datetime, payable: bool) -> None:
    assert is_payable_at(status, hold_until, cutoff) is payable


@pytest.mark.parametrize(
    ("hold_until", "approved_at", "expected"),
    [(T0 + timedelta(days=30), T0, T0), (T0 - timedelta(days=1), T0, T0 - timedelta(days=1))],
    ids=["an approval inside the hold ends it at the approval", "an approval after the hold leaves it as it was"],
)  # fmt: skip
def test_approval_ends_the_hold(hold_until: datetime, approved_at: datetime, expected: datetime) -> None:
    assert approval_hold_until(hold_until, approved_at) == expected
    assert is_payable_at(CommissionStatus.APPROVED, approval_hold_until(hold_until, approved_at), approved_at)


@pytest.mark.parametrize(
    ("method", "configured", "delivery"),
    [
        (MethodType.PAYPAL, True, Delivery.API),
        (MethodType.PAYPAL, False, Delivery.CSV),
        (MethodType.STRIPE_CONNECT, True, Delivery.API),
        (MethodType.STRIPE_CONNECT, False, Delivery.CSV),
        (MethodType.WISE, True, Delivery.CSV),
        (MethodType.MANUAL, False, Delivery.CSV),
    ],
    ids=["paypal with credentials goes by api", "paypal without credentials waits for csv",
         "stripe connect with a key goes by api", "stripe connect without a key waits for csv",
         "wise always goes by csv", "manual always goes by csv"],
)  # fmt: skip
def test_delivery(method: MethodType, configured: bool, delivery: Delivery) -> None:
    assert delivery_for(method, configured) is delivery


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
