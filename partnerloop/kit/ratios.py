"""The plain ratios every domain may need, defined once (report/metrics.py builds its figures on them):
a zero denominator gives None, never NaN or an error."""

from __future__ import annotations

RATIO_PLACES = 4


def ratio(part: int, whole: int) -> float | None:
    """part ÷ whole to 4 places; None when whole is 0."""
    if whole == 0:
        return None
    return round(part / whole, RATIO_PLACES)  # int / int is correctly rounded, as float(Fraction(...)) is


def roi_of(net_revenue_amount: int, cost_amount: int) -> float | None:
    """ROI: (net revenue − cost) ÷ cost, the cost being what partners earned (or advocates' rewards)."""
    return ratio(net_revenue_amount - cost_amount, cost_amount)
