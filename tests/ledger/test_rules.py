"""Accounts and postings as tables: each status maps to one account, every move balances."""

from __future__ import annotations

import pytest

from partnerloop.ledger.rules import (
    Account,
    EntryKind,
    account_for,
    balance_from_sums,
    creation_postings,
    is_balanced,
    transition_kind,
    transition_postings,
)

STATUSES = ["pending", "on_hold", "approved", "paid", "reversed", "rejected"]


@pytest.mark.parametrize(
    ("status", "account"),
    [
        pytest.param("pending", Account.PENDING, id="pending earnings are not payable yet"),
        pytest.param("on_hold", Account.PENDING, id="earnings on hold are not payable either"),
        pytest.param("approved", Account.APPROVED, id="approved earnings are payable"),
        pytest.param("paid", Account.PAID, id="paid earnings are settled"),
        pytest.param("reversed", None, id="reversed earnings are nobody's"),
        pytest.param("rejected", None, id="rejected earnings are nobody's"),
    ],
)
def test_each_status_has_one_account(status: str, account: Account | None) -> None:
    assert account_for(status) == account


@pytest.mark.parametrize(
    ("status", "earnings", "postings"),
    [
        pytest.param("pending", 980, [(Account.PENDING, 980), (Account.EXPENSE, -980)], id="a new sale commission"),
        pytest.param(
            "approved", -490, [(Account.APPROVED, -490), (Account.EXPENSE, 490)], id="a reversal after approval"
        ),
        pytest.param("approved", 10_000, [(Account.APPROVED, 10_000), (Account.EXPENSE, -10_000)], id="a manual bonus"),
        pytest.param("pending", 0, [], id="nothing to post for zero"),
        pytest.param("rejected", 500, [], id="nothing to post for a commission that is nobody's"),
    ],
)
def test_creation_postings(status: str, earnings: int, postings: list[tuple[Account, int]]) -> None:
    assert creation_postings(status, earnings) == postings


@pytest.mark.parametrize(
    ("old", "new", "earnings", "postings", "kind"),
    [
        pytest.param(
            "pending", "approved", 980, [(Account.PENDING, -980), (Account.APPROVED, 980)], EntryKind.APPROVED,
            id="approval moves pending to approved",
        ),
        pytest.param(
            "approved", "on_hold", 980, [(Account.APPROVED, -980), (Account.PENDING, 980)], EntryKind.HELD,
            id="a hold after approval makes it not payable",
        ),
        pytest.param("pending", "on_hold", 980, [], EntryKind.HELD, id="a hold of a pending commission moves nothing"),
        pytest.param(
            "on_hold", "rejected", 980, [(Account.PENDING, -980), (Account.EXPENSE, 980)], EntryKind.REJECTED,
            id="a rejection gives the earnings back to the program",
        ),
        pytest.param(
            "approved", "paid", 980, [(Account.APPROVED, -980), (Account.PAID, 980)], EntryKind.PAID,
            id="a payout settles approved earnings",
        ),
        pytest.param(
            "paid", "approved", 980, [(Account.PAID, -980), (Account.APPROVED, 980)], EntryKind.PAYOUT_FAILED,
            id="a failed payout makes them payable again",
        ),
        pytest.param(
            "pending", "reversed", -490, [(Account.PENDING, 490), (Account.EXPENSE, -490)], EntryKind.REVERSED,
            id="a reversal row closing with its commission",
        ),
    ],
)  # fmt: skip
def test_transition_postings(
    old: str, new: str, earnings: int, postings: list[tuple[Account, int]], kind: EntryKind
) -> None:
    assert transition_postings(old, new, earnings) == postings
    assert transition_kind(old, new) is kind


@pytest.mark.parametrize("old", STATUSES)
@pytest.mark.parametrize("new", STATUSES)
@pytest.mark.parametrize("earnings", [1, -7, 123_456])
def test_every_move_balances(old: str, new: str, earnings: int) -> None:
    postings = transition_postings(old, new, earnings) + creation_postings(old, earnings)
    assert is_balanced(("usd", amount) for _account, amount in postings)


def test_balance_is_read_from_the_accounts_and_kinds() -> None:
    # earned 1000, a refund reversed 200 of it, 500 approved and paid, a manual 300 approved, a clawback of 100
    sums = {
        (Account.PENDING.value, "earned"): 1000,
        (Account.EXPENSE.value, "earned"): -1000,
        (Account.PENDING.value, "reversed"): -200,
        (Account.EXPENSE.value, "reversed"): 200,
        (Account.PENDING.value, "approved"): -500,
        (Account.APPROVED.value, "approved"): 500,
        (Account.APPROVED.value, "paid"): -500,
        (Account.PAID.value, "paid"): 500,
        (Account.APPROVED.value, "adjusted"): 200,
        (Account.EXPENSE.value, "adjusted"): -200,
    }
    balance = balance_from_sums("usd", sums)
    assert (balance.pending_amount, balance.approved_amount, balance.paid_amount) == (300, 200, 500)
    assert (balance.earned_amount, balance.reversed_amount, balance.adjusted_amount) == (1000, 200, 200)
    assert balance.available_amount == 200
    assert balance.balance_amount == 500 == 1000 - 200 + 200 - 500
    assert balance.holds


def test_unbalanced_postings_are_seen() -> None:
    assert not is_balanced([("usd", 100), ("usd", -99)])
    assert not is_balanced([("usd", 100), ("eur", -100)])
    assert is_balanced([("usd", 100), ("eur", 5), ("usd", -100), ("eur", -5)])
