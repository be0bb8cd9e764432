"""Multi-touch credit (pure): split one amount across the partners whose clicks led to a conversion.

Models: `first_click` and `last_click` give everything to one touch; `linear` weighs every touch
equally; `time_decay` halves a touch's weight every `half_life_days` before the conversion;
`position` gives 40% to the first touch, 40% to the last and 20% shared by those in between (one
touch: 100%; two: 50/50). A partner's share is the sum of their touches' weights. Integer shares
sum exactly to the total by the largest-remainder method; ties go to the partner who touched first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from functools import partial

from partnerloop.commission.rules import Share
from partnerloop.plan.rules import CreditShare


class AttributionModel(StrEnum):
    FIRST_CLICK = "first_click"
    LAST_CLICK = "last_click"
    LINEAR = "linear"
    TIME_DECAY = "time_decay"
    POSITION = "position"

    @property
    def splits(self) -> bool:
        """True for the models that may credit several partners for one conversion."""
        return self in (AttributionModel.LINEAR, AttributionModel.TIME_DECAY, AttributionModel.POSITION)


MODELS: tuple[AttributionModel, ...] = tuple(AttributionModel)
DEFAULT_HALF_LIFE_DAYS = 7


@dataclass(frozen=True)
class Touchpoint:
    """One attributable (non-bot, in-window) click of the converting visitor."""

    partner_id: str
    touched_at: datetime
    click_id: str = ""


@dataclass(frozen=True)
class Credit:
    partner_id: str
    amount: int  # in the total's unit (minor units, or basis points of one conversion)


def touch_weights(
    model: AttributionModel, touches: Sequence[Touchpoint], now: datetime, half_life_days: float
) -> list[Fraction]:
    """The weight of each touch (in the order given, oldest first) under `model`; they sum to 1."""
    count = len(touches)
    if count == 0:
        return []
    if model is AttributionModel.FIRST_CLICK:
        return [Fraction(1 if index == 0 else 0) for index in range(count)]
    if model is AttributionModel.LAST_CLICK:
        return [Fraction(1 if index == count - 1 else 0) for index in range(count)]
    if model is AttributionModel.LINEAR:
        return [Fraction(1, count)] * count
    if model is AttributionModel.POSITION:
        if count == 1:
            return [Fraction(1)]
        if count == 2:
            return [Fraction(1, 2)] * 2
        middle = Fraction(1, 5) / (count - 2)
        return [Fraction(2, 5), *([middle] * (count - 2)), Fraction(2, 5)]
    # Time decay: 2^(-age / half-life), as exact fractions of the floats so the split is reproducible.
    half_life = max(half_life_days, 1 / 24)
    raw = [Fraction(2.0 ** (-max((now - touch.touched_at) / timedelta(days=1), 0.0) / half_life)) for touch in touches]
    total = sum(raw, Fraction(0))
    return [weight / total for weight in raw]


def split_credit(
    model: AttributionModel | str,
    touches: Sequence[Touchpoint],
    total: int,
    now: datetime,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> list[Credit]:
    """Integer shares of `total` per partner, in order of each partner's first touch, summing exactly
    to `total` (negative totals split like their absolute value). No touches: no credit."""
    ordered = sorted(touches, key=lambda touch: (touch.touched_at, touch.click_id))
    weights = touch_weights(AttributionModel(model), ordered, now, half_life_days)
    per_partner: dict[str, Fraction] = {}
    for touch, weight in zip(ordered, weights, strict=True):
        per_partner[touch.partner_id] = per_partner.get(touch.partner_id, Fraction(0)) + weight
    if not per_partner:
        return []
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    exact = {partner_id: weight * magnitude for partner_id, weight in per_partner.items()}
    floors = {partner_id: int(share) for partner_id, share in exact.items()}  # floor: shares are >= 0
    left = magnitude - sum(floors.values())
    first_seen = list(per_partner)  # dicts keep insertion order: the order of first touches
    by_remainder = sorted(first_seen, key=lambda partner_id: (-(exact[partner_id] - floors[partner_id]),
                                                              first_seen.index(partner_id)))  # fmt: skip
    for partner_id in by_remainder[:left]:
        floors[partner_id] += 1
    return [Credit(partner_id, sign * floors[partner_id]) for partner_id in first_seen if per_partner[partner_id] > 0]


def credit_of(
    model: AttributionModel | str,
    touches: Sequence[Touchpoint],
    partner_id: str,
    total: int,
    now: datetime,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> int:
    """The partner's integer share of `total` as `split_credit` splits it (0 for a partner who did not
    touch), so that the shares of partners who split the same total sum exactly to it."""
    credits = split_credit(model, touches, total, now, half_life_days)
    return next((credit.amount for credit in credits if credit.partner_id == partner_id), 0)


_MODEL_LABELS = {
    AttributionModel.LINEAR: "linear",
    AttributionModel.TIME_DECAY: "time-decay",
    AttributionModel.POSITION: "position-based",
}


def _percent(bps: int) -> str:
    return f"{bps // 100}%" if bps % 100 == 0 else f"{bps / 100:.2f}".rstrip("0").rstrip(".") + "%"


def split_shares(
    model: AttributionModel,
    touches: Sequence[Touchpoint],
    converted_at: datetime,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> list[Share]:
    """The partners credited by the model, in order of first touch, each with their share's label and
    part (partners whose commissions for the whole sale are equal get parts summing exactly to it)."""
    bps = split_credit(model, touches, 10_000, converted_at, half_life_days)
    last_click = {touch.partner_id: touch.click_id or None for touch in sorted(touches, key=lambda t: t.touched_at)}
    label = _MODEL_LABELS.get(model, model.value)
    shares: list[Share] = []
    for credit in bps:
        part = partial(credit_of, model, touches, credit.partner_id, now=converted_at, half_life_days=half_life_days)
        label_text = f"{_percent(credit.amount)} share ({label})"
        shares.append(Share(credit.partner_id, last_click.get(credit.partner_id), CreditShare(label_text, part)))
    return shares
