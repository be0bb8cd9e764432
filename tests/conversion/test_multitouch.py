"""split_credit: every model, integer shares that always sum to the single-partner amount."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerloop.conversion.multitouch import MODELS, Credit, Touchpoint, credit_of, split_credit

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def touch(partner: str, days_ago: float, click: str = "") -> Touchpoint:
    return Touchpoint(partner, NOW - timedelta(days=days_ago), click or f"{partner}-{days_ago}")


A3_B2_C1 = [touch("a", 3), touch("b", 2), touch("c", 1)]

CASES = [
    ("first click gives everything to the oldest touch", "first_click", A3_B2_C1, 1000, [("a", 1000)]),
    ("last click gives everything to the newest touch", "last_click", A3_B2_C1, 1000, [("c", 1000)]),
    ("touches given out of order are sorted by time", "last_click", [touch("c", 1), touch("a", 3)], 10, [("c", 10)]),
    (
        "linear splits evenly, the odd cent to the first partner",
        "linear",
        A3_B2_C1,
        1000,
        [("a", 334), ("b", 333), ("c", 333)],
    ),
    (
        "linear adds up a partner's several touches",
        "linear",
        [touch("a", 3), touch("b", 2), touch("a", 1)],
        900,
        [("a", 600), ("b", 300)],
    ),
    ("position gives 40/20/40 over three touches", "position", A3_B2_C1, 1000, [("a", 400), ("b", 200), ("c", 400)]),
    (
        "position shares the middle 20% among the middle touches",
        "position",
        [touch("a", 4), touch("b", 3), touch("c", 2), touch("d", 1)],
        1000,
        [("a", 400), ("b", 100), ("c", 100), ("d", 400)],
    ),
    ("position splits two touches 50/50", "position", [touch("a", 2), touch("b", 1)], 999, [("a", 500), ("b", 499)]),
    ("one touch takes everything under any model", "time_decay", [touch("a", 30)], 4321, [("a", 4321)]),
    (
        "time decay halves the weight per half-life",
        "time_decay",
        [touch("a", 7), touch("b", 0)],
        3000,
        [("a", 1000), ("b", 2000)],
    ),
    (
        "time decay over two half-lives is a quarter",
        "time_decay",
        [touch("a", 14), touch("b", 0)],
        500,
        [("a", 100), ("b", 400)],
    ),
    (
        "a negative total (a reversal) splits like its absolute value",
        "linear",
        A3_B2_C1,
        -1000,
        [("a", -334), ("b", -333), ("c", -333)],
    ),
    ("a zero total credits zero to each partner", "linear", A3_B2_C1, 0, [("a", 0), ("b", 0), ("c", 0)]),
    ("no touches credit nobody", "linear", [], 1000, []),
    (
        "a tie in remainders goes to the partner who touched first",
        "linear",
        [touch("b", 3), touch("a", 2)],
        1,
        [("b", 1), ("a", 0)],
    ),
]


@pytest.mark.parametrize(("model", "touches", "total", "expected"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])  # fmt: skip
def test_split_credit(model: str, touches: list[Touchpoint], total: int, expected: list[tuple[str, int]]) -> None:
    assert split_credit(model, touches, total, NOW) == [Credit(partner, amount) for partner, amount in expected]


def test_an_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError):
        split_credit("u_shaped", A3_B2_C1, 100, NOW)


@given(
    model=st.sampled_from(MODELS),
    ages=st.lists(st.tuples(st.sampled_from("abcde"), st.floats(0, 90)), min_size=1, max_size=12),
    total=st.integers(-(10**9), 10**9),
    half_life=st.floats(0.1, 60),
)
def test_shares_always_sum_to_the_total(
    model: str, ages: list[tuple[str, float]], total: int, half_life: float
) -> None:
    touches = [touch(partner, days, f"c{index}") for index, (partner, days) in enumerate(ages)]
    credits = split_credit(model, touches, total, NOW, half_life)
    assert sum(credit.amount for credit in credits) == total
    assert all(abs(credit.amount) <= abs(total) for credit in credits)
    assert split_credit(model, list(reversed(touches)), total, NOW, half_life) == credits  # order-independent


CREDIT_OF = [
    ("a partner gets their split of the total", "position", A3_B2_C1, "b", 1000, 200),
    ("the odd unit goes to the first toucher as in the split", "linear", A3_B2_C1, "a", 1000, 334),
    ("a later toucher gets the floor", "linear", A3_B2_C1, "c", 1000, 333),
    ("a partner who did not touch gets nothing", "linear", A3_B2_C1, "z", 1000, 0),
    ("a negative total gives a negative share", "linear", A3_B2_C1, "a", -1000, -334),
]


@pytest.mark.parametrize(("model", "touches", "partner", "total", "expected"), [case[1:] for case in CREDIT_OF],
                         ids=[case[0] for case in CREDIT_OF])  # fmt: skip
def test_credit_of(model: str, touches: list[Touchpoint], partner: str, total: int, expected: int) -> None:
    assert credit_of(model, touches, partner, total, NOW) == expected
