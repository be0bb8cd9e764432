"""The plan's standing offer in words, for the public application page (issue 12, wall 7)."""

from __future__ import annotations

from typing import Any

import pytest

from partnerloop.plan.offer import offer_text
from partnerloop.plan.schemas import PlanIn


def _rules(*rules: dict[str, Any]) -> Any:
    return PlanIn.model_validate({"name": "P", "rules": list(rules)}).rules


SALE_12 = {
    "event": "sale",
    "reward": {"type": "percent", "rate_bps": 3000},
    "duration": {"kind": "months", "months": 12},
}
LEAD = {"event": "lead", "reward": {"type": "flat", "amount": 200}}


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ((SALE_12,), "30% of every payment for 12 months"),
        ((SALE_12, LEAD), "30% of every payment for 12 months and 2.00 USD for every sign-up"),
        (({**SALE_12, "duration": {"kind": "lifetime"}},), "30% of every payment for life"),
        (({**SALE_12, "duration": {"kind": "months", "months": 1}},), "30% of every payment for 1 month"),
        (({"event": "sale", "reward": {"type": "percent", "rate_bps": 1250}},), "12.5% of the first payment"),
        (({"event": "sale", "reward": {"type": "flat", "amount": 5000}},), "50.00 USD for every new customer"),
        ((LEAD,), "2.00 USD for every sign-up"),
        (({**SALE_12, "tiers": {"metric": "sales_count", "period": "month", "levels": [
            {"min": 0, "reward": {"type": "percent", "rate_bps": 3000}},
            {"min": 5, "reward": {"type": "percent", "rate_bps": 4000}}]}},),
         "30% (up to 40% as your sales grow) of every payment for 12 months"),
        # a campaign or a conditional rule is no standing offer: the next rule for everyone is
        (({**SALE_12, "name": "Spring", "active": {"from": "2026-03-01T00:00:00Z", "until": "2026-04-01T00:00:00Z"}},
          {**SALE_12, "reward": {"type": "percent", "rate_bps": 2000}}), "20% of every payment for 12 months"),
        (({**SALE_12, "conditions": [{"field": "product_id", "op": "eq", "value": "pro"}]},), None),
    ],
)  # fmt: skip
def test_the_offer_in_words(rules: tuple[dict[str, Any], ...], expected: str | None) -> None:
    assert offer_text(_rules(*rules), "usd") == expected
