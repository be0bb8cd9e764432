"""Pure decisions of the manager dashboard: periods, KPIs against the previous period, form values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from partnerloop.kit.money import format_money, minor_digits, round_half_away
from partnerloop.kit.time import format_day
from partnerloop.report import metrics

PERIOD_CHOICES = (7, 30, 90, 365)
DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 3660


@dataclass(frozen=True)
class Period:
    """Whole UTC days from `start` to `end`, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def ends_before(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    @property
    def label(self) -> str:
        return f"{format_day(self.start)} – {format_day(self.end)}"


def parse_period(days: str | None, start: str | None, end: str | None, today: date) -> tuple[Period, str | None]:
    """The period asked for (`days` back from today, or `start`..`end`), else the default; with a message
    when what was asked could not be used."""
    default = Period(today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), today)
    if start or end:
        try:
            first = date.fromisoformat(start or "")
            last = date.fromisoformat(end or "") if end else today
        except ValueError:
            return default, "Dates are written YYYY-MM-DD."
        if last < first:
            return default, "The period ends before it starts."
        if (last - first).days + 1 > MAX_PERIOD_DAYS:
            return default, "Choose a period of at most ten years."
        return Period(first, last), None
    if days:
        if not days.isdigit() or not 1 <= int(days) <= MAX_PERIOD_DAYS:
            return default, "Choose a period between 1 and 3660 days."
        return Period(today - timedelta(days=int(days) - 1), today), None
    return default, None


@dataclass(frozen=True)
class Totals:
    """A program's figures over one period; money in minor units of the program's currency."""

    clicks: int = 0
    leads: int = 0
    sales: int = 0
    revenue: int = 0
    commissions: int = 0


@dataclass(frozen=True)
class Kpi:
    name: str
    value: str
    previous: str
    change: str  # "+12.5%", "−3.0%", "new", "–"
    trend: str  # "up", "down" or "flat"
    good: bool | None  # whether the change is good news (None: neither)
    definition: str = ""  # report/metrics.py's, shown on hover


def _ratio_bps(part: int, whole: int) -> int | None:
    return None if whole == 0 else round_half_away(Fraction(part * 10_000, whole))


def _per(amount: int, count: int) -> int | None:
    return None if count == 0 else round_half_away(Fraction(amount, count))


def format_bps(value: int | None) -> str:
    """Basis points as a percentage with one decimal: 1234 -> '12.3%'."""
    if value is None:
        return "–"
    tenths = round_half_away(Fraction(value, 10))
    sign = "−" if tenths < 0 else ""
    return f"{sign}{abs(tenths) // 10}.{abs(tenths) % 10}%"


def change_text(current: int | None, previous: int | None) -> tuple[str, str]:
    """How `current` compares with `previous`: (text, trend)."""
    if current is None or previous is None:
        return "–", "flat"
    if previous == 0:
        return ("new", "up") if current > 0 else ("–", "flat")
    delta_bps = round_half_away(Fraction((current - previous) * 10_000, abs(previous)))
    trend = "up" if delta_bps > 0 else "down" if delta_bps < 0 else "flat"
    return ("+" if delta_bps > 0 else "") + format_bps(delta_bps), trend


def kpis(
    current: Totals, previous: Totals, currency: str, money_text: Callable[[int, str], str] = format_money
) -> list[Kpi]:
    """The overview's KPIs, each with the previous period's value and the change.

    Sales per click = sales / clicks; EPC = commissions / clicks; commission per sale = commissions / sales;
    ROI is report/metrics.py's, (net revenue − commissions) ÷ commissions, written '3.95×' as on the reports.
    (The reports' conversion rate and CPA, per new customer and
    unique click, are report/metrics.py's: these are named for what they divide, so no name means two things.)
    """

    def money(value: int | None) -> str:
        return "–" if value is None else money_text(value, currency)

    def count(value: int | None) -> str:
        return "–" if value is None else f"{value:,}"

    def roi_bps(totals: Totals) -> int | None:
        # report/metrics.py's ROI (Totals.revenue is already net of refunds), in bps for the change
        value = metrics.roi_of(totals.revenue, totals.commissions)
        return None if value is None else round(value * 10_000)

    def roi_shown(value: int | None) -> str:
        return metrics.roi_text(None if value is None else value / 10_000)

    rows: list[tuple[str, int | None, int | None, str, bool | None]] = [
        ("Clicks", current.clicks, previous.clicks, "count", True),
        ("Leads", current.leads, previous.leads, "count", True),
        ("Sales", current.sales, previous.sales, "count", True),
        ("Revenue from partners", current.revenue, previous.revenue, "money", True),
        ("Commissions", current.commissions, previous.commissions, "money", None),
        (
            "Sales per click",
            _ratio_bps(current.sales, current.clicks),
            _ratio_bps(previous.sales, previous.clicks),
            "bps",
            True,
        ),
        (
            "EPC (earnings per click)",
            _per(current.commissions, current.clicks),
            _per(previous.commissions, previous.clicks),
            "money",
            None,
        ),
        (
            "Commission per sale",
            _per(current.commissions, current.sales),
            _per(previous.commissions, previous.sales),
            "money",
            False,
        ),
        ("ROI", roi_bps(current), roi_bps(previous), "roi", True),
    ]
    shown = {"count": count, "money": money, "bps": format_bps, "roi": roi_shown}
    result = []
    for name, now_value, before_value, kind, higher_is_good in rows:
        text, trend = change_text(now_value, before_value)
        good = None if higher_is_good is None or trend == "flat" else (trend == "up") == higher_is_good
        definition = metrics.METRICS["roi"].definition if kind == "roi" else ""
        result.append(Kpi(name, shown[kind](now_value), shown[kind](before_value), text, trend, good, definition))
    return result


# ------------------------------------------------------------------------------------ form values


def parse_percent_bps(text: str) -> int:
    """'20' or '12.5' (%) -> basis points; ValueError with a sentence otherwise."""
    try:
        value = Decimal(text.strip().rstrip("%").strip())
    except InvalidOperation:
        raise ValueError(f"'{text}' is not a percentage (e.g. 20 or 12.5).") from None
    bps = value * 100
    if bps != bps.to_integral_value():
        raise ValueError("A percentage takes at most two decimals (e.g. 12.25).")
    if not 0 < bps <= 10_000:
        raise ValueError("A percentage is more than 0 and at most 100.")
    return int(bps)


def parse_amount(text: str, currency: str) -> int:
    """'49.90' in `currency` -> minor units (4990); ValueError with a sentence otherwise."""
    digits = minor_digits(currency)
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"'{text}' is not an amount (e.g. 25 or 25.50).") from None
    if not value.is_finite():
        raise ValueError(f"'{text}' is not an amount.")
    minor = value * (10**digits)
    if minor != minor.to_integral_value():
        raise ValueError(f"{currency.upper()} amounts take at most {digits} decimals.")
    return int(minor)


def amount_text(amount: int | None, currency: str) -> str:
    """Minor units as the number a form shows: 4990 usd -> '49.90' (no currency)."""
    if amount is None:
        return ""
    digits = minor_digits(currency)
    units, minor = divmod(abs(amount), 10**digits)
    sign = "-" if amount < 0 else ""
    return f"{sign}{units}.{minor:0{digits}d}" if digits else f"{sign}{units}"


def percent_text(rate_bps: int | None) -> str:
    """2000 -> '20', 1250 -> '12.5' (for a form field)."""
    if rate_bps is None:
        return ""
    whole, rest = divmod(rate_bps, 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")


def split_list(text: str) -> list[str]:
    """'a, b\nc' -> ['a', 'b', 'c'] (domains, link parameters)."""
    return [item.strip() for item in text.replace("\n", ",").split(",") if item.strip()]


# --------------------------------------------------------------------------------------- listing

PARTNER_SORTS = {
    "name": "Name",
    "newest": "Newest",
    "revenue": "Revenue",
    "earnings": "Earnings",
    "clicks": "Clicks",
}
COMMISSION_QUEUE_STATUSES = ("pending", "on_hold")
COMMISSION_SORTS = {
    "date": "Date (when it happened)",
    "newest": "Recorded, newest first",
    "earnings": "Earnings",
    "sale": "Sale",
}


def page_bounds(page: str | None, total: int, per_page: int) -> tuple[int, int]:
    """(page number from 1, offset) for a `?page=` value, clamped to the pages that exist."""
    pages = max(1, -(-total // per_page))
    number = int(page) if page and page.isdigit() else 1
    number = min(max(number, 1), pages)
    return number, (number - 1) * per_page


# ---------------------------------------------------------------------------------------- first run


@dataclass(frozen=True)
class SetupFacts:
    """What a new program has done so far, as the setup checklist reads it."""

    currency: str
    has_default_plan: bool
    allowed_domains: int
    stripe_connected: bool
    tracked_anything: bool  # a click or a lead, sale or refund recorded
    application_saved: bool
    partners: int


@dataclass(frozen=True)
class SetupStep:
    key: str
    title: str
    done: bool
    detail: str
    href: str  # a /manage path where the step is done


def setup_steps(facts: SetupFacts) -> list[SetupStep]:
    """The first-run checklist in order; each step ticks itself when the program's data says it is done."""
    currency = facts.currency.upper()
    return [
        SetupStep("currency", "Choose the currency", True,
                  f"Commissions, payouts and reports are in {currency}; change it in Settings.", "/manage/settings"),
        SetupStep("plan", "Set a default plan", facts.has_default_plan,
                  "What partners earn: a percent or an amount per lead or sale, for how long.", "/manage/plans"),
        SetupStep("domains", "Allow your site's domains", facts.allowed_domains > 0,
                  "Partner links may only send visitors to these domains.", "/manage/settings"),
        SetupStep("tracking", "Connect Stripe or add the tracking snippet",
                  facts.stripe_connected or facts.tracked_anything,
                  "Stripe's webhooks bring in sales by themselves; the snippet records clicks on your site.",
                  "/manage/integrations/stripe"),
        SetupStep("application", "Set up the application page", facts.application_saved,
                  "Your logo, colour, offer and terms on the page where partners apply.", "/manage/portal/application"),
        SetupStep("partner", "Invite a first partner", facts.partners > 0,
                  "Add a partner by email or share the application page.", "/manage/partners"),
    ]  # fmt: skip
