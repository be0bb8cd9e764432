"""The parts of a plan beside a rule's reward, as form rows and back (pure): tiers, caps, the active window
and the plan's bonuses. plan_forms.py puts them together; the engine's own validation then decides.

Each `*_from_rows` returns the stored shape (or None when the rows hold nothing) and the problems it met,
each naming where ("Rule 2, tier 1: …"). Rows left empty add nothing, so emptying a row removes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from partnerloop.manage.rules import amount_text, parse_amount, parse_percent_bps, percent_text

METRICS = (("sales_count", "Sales (count)"), ("revenue", "Revenue"), ("leads_count", "Leads (count)"))
PERIODS = (("month", "Month"), ("quarter", "Quarter"), ("year", "Year"), ("lifetime", "All time"))
MAX_TIER_ROWS = 21
MAX_BONUS_ROWS = 21

Form = Mapping[str, str]


def reward_from(event: str, kind: str, rate: str, amount: str, currency: str) -> dict[str, Any]:
    """The reward the fields describe. Only a sale pays a percent: for a lead or click rule the percent
    fields are sale-only and ignored, and the amount decides. ValueError with a sentence otherwise."""
    if event == "sale" and kind == "percent":
        return {"type": "percent", "rate_bps": parse_percent_bps(rate)}
    if event != "sale" and not amount:
        raise ValueError(f"a {event} rule pays a fixed amount: give the amount (a percent applies to sales only).")
    return {"type": "flat", "amount": parse_amount(amount, currency)}


def reward_fields(reward: Mapping[str, Any], currency: str) -> tuple[str, str, str]:
    """(kind, rate, amount) of a stored reward for the form."""
    if reward.get("type") == "percent":
        return "percent", percent_text(reward.get("rate_bps")), ""
    return "flat", "", amount_text(reward.get("amount"), currency)


def _volume_text(metric: str, value: Any, currency: str) -> str:
    if value is None:
        return ""
    return amount_text(int(value), currency) if metric == "revenue" else str(value)


def _volume(metric: str, text: str, currency: str, *, least: int) -> int:
    """A threshold in the metric's unit: an amount of the program's currency for revenue, else a count."""
    if metric == "revenue":
        value = parse_amount(text, currency)
    elif re.fullmatch(r"\d+", text.strip()):
        value = int(text.strip())
    else:
        raise ValueError(f"'{text}' is not a whole number.")
    if value < least:
        raise ValueError(f"the threshold is at least {least}.")
    return value


def _choice(value: str, choices: tuple[tuple[str, str], ...], default: str) -> str:
    return value if value in {key for key, _ in choices} else default


# ------------------------------------------------------------------------------------------ tiers


@dataclass
class TierRow:
    """One tier level: from `min` (the metric's unit) the rule pays this reward."""

    min: str = ""
    reward: str = "percent"
    rate: str = ""
    amount: str = ""

    def is_empty(self) -> bool:
        return not (self.min or self.rate or self.amount)


@dataclass
class TiersRow:
    metric: str = "sales_count"
    period: str = "month"
    levels: list[TierRow] = field(default_factory=list)


def tiers_row(tiers: Mapping[str, Any] | None, currency: str) -> TiersRow:
    if not tiers:
        return TiersRow()
    metric = str(tiers.get("metric", "sales_count"))
    levels = []
    for level in tiers.get("levels") or []:
        kind, rate, amount = reward_fields(level.get("reward") or {}, currency)
        levels.append(TierRow(_volume_text(metric, level.get("min"), currency), kind, rate, amount))
    return TiersRow(metric=metric, period=str(tiers.get("period", "month")), levels=levels)


def tiers_row_from_form(form: Form, prefix: str) -> TiersRow:
    """The tier rows under `prefix` (e.g. 'rule-0-'); empty levels are left out."""
    row = TiersRow(
        metric=_choice(str(form.get(prefix + "tier-metric", "")), METRICS, "sales_count"),
        period=_choice(str(form.get(prefix + "tier-period", "")), PERIODS, "month"),
    )
    for position in range(MAX_TIER_ROWS):
        at = f"{prefix}tier-{position}-"
        level = TierRow(*(str(form.get(at + name, "")).strip() for name in ("min", "reward", "rate", "amount")))
        level.reward = level.reward or "percent"
        if not level.is_empty():
            row.levels.append(level)
    return row


def tiers_from_row(row: TiersRow, event: str, label: str, currency: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The stored `tiers` of a rule (None without levels), and the problems met."""
    levels: list[dict[str, Any]] = []
    problems: list[str] = []
    for position, level in enumerate(row.levels):
        where = f"{label}, tier {position + 1}"
        try:
            if not level.min:
                raise ValueError("give the threshold the tier starts from (0 for the first).")
            minimum = _volume(row.metric, level.min, currency, least=0)
            levels.append(
                {"min": minimum, "reward": reward_from(event, level.reward, level.rate, level.amount, currency)}
            )
        except ValueError as error:
            problems.append(f"{where}: {error}")
    if not levels:
        return None, problems
    return {"metric": row.metric, "period": row.period, "levels": levels}, problems


# ------------------------------------------------------------------------------------------- caps


@dataclass
class CapsRow:
    """Caps as amounts of the program's currency (`per_day_count`: a number of clicks)."""

    per_customer_amount: str = ""
    per_period_amount: str = ""
    period: str = "month"
    per_day_count: str = ""
    per_day_amount: str = ""


CAP_AMOUNTS = ("per_customer_amount", "per_period_amount", "per_day_amount")
# The caps a rule of each event can have: a click has no customer; only clicks are capped per day.
CAPS_OF_EVENT = {
    "sale": ("per_customer_amount", "per_period_amount"),
    "lead": ("per_customer_amount", "per_period_amount"),
    "click": ("per_period_amount", "per_day_count", "per_day_amount"),
}


def caps_row(caps: Mapping[str, Any] | None, currency: str) -> CapsRow:
    caps = caps or {}
    row = CapsRow(period=str(caps.get("period") or "month"))
    for name in CAP_AMOUNTS:
        setattr(row, name, amount_text(caps.get(name), currency))
    row.per_day_count = "" if caps.get("per_day_count") is None else str(caps["per_day_count"])
    return row


def caps_row_from_form(form: Form, prefix: str) -> CapsRow:
    def value(name: str) -> str:
        return str(form.get(f"{prefix}cap-{name.replace('_', '-')}", "")).strip()

    return CapsRow(
        per_customer_amount=value("per_customer_amount"),
        per_period_amount=value("per_period_amount"),
        period=_choice(value("period"), PERIODS, "month"),
        per_day_count=value("per_day_count"),
        per_day_amount=value("per_day_amount"),
    )


def caps_from_row(row: CapsRow, event: str, label: str, currency: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The stored `caps` of a rule (None without any); caps that do not apply to the event are ignored."""
    caps: dict[str, Any] = {}
    problems: list[str] = []
    for name in CAPS_OF_EVENT.get(event, ()):
        text = str(getattr(row, name))
        if not text:
            continue
        try:
            if name == "per_day_count":
                caps[name] = _volume("sales_count", text, currency, least=1)
            else:
                caps[name] = parse_amount(text, currency)
        except ValueError as error:
            problems.append(f"{label}, cap {name.replace('_', ' ')}: {error}")
    if "per_period_amount" in caps:
        caps["period"] = row.period
    return caps or None, problems


# --------------------------------------------------------------------------------- active window


@dataclass
class WindowRow:
    """From (inclusive) and until (exclusive) as a datetime-local input writes them, in UTC."""

    starts: str = ""
    until: str = ""


def _local_text(stored: str | None) -> str:
    """'2026-11-27T00:00:00Z' -> '2026-11-27T00:00' (UTC, for a datetime-local input)."""
    if not stored:
        return ""
    moment = datetime.fromisoformat(stored.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")


def _stored_moment(text: str) -> str:
    """'2026-11-27T00:00' (UTC unless a zone is written) -> '2026-11-27T00:00:00Z'."""
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"'{text}' is not a time: write YYYY-MM-DD HH:MM (UTC).") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")


def window_row(active: Mapping[str, Any] | None) -> WindowRow:
    active = active or {}
    return WindowRow(_local_text(active.get("from")), _local_text(active.get("until")))


def window_row_from_form(form: Form, prefix: str) -> WindowRow:
    return WindowRow(
        str(form.get(prefix + "active-from", "")).strip(), str(form.get(prefix + "active-until", "")).strip()
    )


def window_from_row(row: WindowRow, label: str) -> tuple[dict[str, str] | None, list[str]]:
    """The stored `active` window of a rule (None when both ends are open)."""
    active: dict[str, str] = {}
    problems: list[str] = []
    for key, text, words in (("from", row.starts, "active from"), ("until", row.until, "active until")):
        if not text:
            continue
        try:
            active[key] = _stored_moment(text)
        except ValueError as error:
            problems.append(f"{label}, {words}: {error}")
    return active or None, problems


# ---------------------------------------------------------------------------------------- bonuses


@dataclass
class BonusRow:
    name: str = ""
    metric: str = "sales_count"
    period: str = "month"
    threshold: str = ""
    amount: str = ""

    def is_empty(self) -> bool:
        return not (self.name or self.threshold or self.amount)


def bonus_rows(stored: list[Mapping[str, Any]] | None, currency: str) -> list[BonusRow]:
    return [
        BonusRow(
            name=str(bonus.get("name", "")),
            metric=str(bonus.get("metric", "sales_count")),
            period=str(bonus.get("period", "month")),
            threshold=_volume_text(str(bonus.get("metric", "")), bonus.get("threshold"), currency),
            amount=amount_text(bonus.get("amount"), currency),
        )
        for bonus in stored or []
    ]


def bonus_rows_from_form(form: Form) -> list[BonusRow] | None:
    """The bonus rows of a submitted form (empty and removed ones left out); None when the form has no
    bonus section (a page from before bonuses were edited here: the plan's bonuses stay as they are)."""
    count_text = str(form.get("bonus_count", ""))
    if not count_text.isdigit():
        return None
    rows = []
    for index in range(min(int(count_text), MAX_BONUS_ROWS)):
        at = f"bonus-{index}-"
        row = BonusRow(*(str(form.get(at + name, "")).strip() for name in ("name", "metric", "period")))
        row.threshold, row.amount = (str(form.get(at + name, "")).strip() for name in ("threshold", "amount"))
        row.metric = _choice(row.metric, METRICS, "sales_count")
        row.period = _choice(row.period, PERIODS, "month")
        if not row.is_empty() and not form.get(at + "remove"):
            rows.append(row)
    return rows


def _bonus_figure(row: BonusRow, name: str, currency: str) -> int:
    text = str(getattr(row, name))
    if not text:
        raise ValueError(f"give the {name}.")
    return _volume(row.metric, text, currency, least=1) if name == "threshold" else parse_amount(text, currency)


def bonuses_from_rows(rows: list[BonusRow], currency: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The plan's stored bonuses, in order, and the problems met (each naming 'Bonus N')."""
    bonuses: list[dict[str, Any]] = []
    problems: list[str] = []
    for index, row in enumerate(rows):
        where = f"Bonus {index + 1}" + (f" ({row.name})" if row.name else "")
        bonus: dict[str, Any] = {"name": row.name, "metric": row.metric, "period": row.period}
        if not row.name:
            problems.append(f"{where}: give the bonus a name.")
        for name in ("threshold", "amount"):
            try:
                bonus[name] = _bonus_figure(row, name, currency)
            except ValueError as error:
                problems.append(f"{where}, {name}: {error}")
        bonuses.append(bonus)
    return bonuses, problems
