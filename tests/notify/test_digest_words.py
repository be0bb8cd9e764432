"""The weekly digest's sentences (pure): money as pages write it, by Babel, in English."""

from __future__ import annotations

from partnerloop.notify.digest import WeekFigures, digest_lines


def test_the_digest_writes_money_by_babel_with_each_currency() -> None:
    figures = WeekFigures(
        new_partners=2, waiting_applications=1, sales=3, revenue=123450,
        earnings={"usd": 24690, "eur": 1000}, payouts_paid=1, paid={"usd": 5000},
    )  # fmt: skip
    lines = digest_lines(figures, "usd")
    assert lines[1] == "Sales: 3, worth $1,234.50."
    assert lines[2] == "Commissions earned by partners: €10.00, $246.90."
    assert lines[3] == "Payouts paid: 1 ($50.00)."
    assert not [line for line in lines if "USD" in line]
