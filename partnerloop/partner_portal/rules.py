"""The partner portal's decisions (pure): application answers and outcome, onboarding checklist, resource
visibility, link destinations with UTM fields, date ranges, dashboard ratios, the next payout."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from partnerloop.kit.money import format_money, round_half_away
from partnerloop.kit.time import format_day
from partnerloop.kit.urls import image_origin

MAX_ANSWER_LENGTH = 2000
MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
RANGE_PRESETS = (7, 30, 90)
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
MAX_UTM_LENGTH = 200
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


class QuestionKind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    URL = "url"
    CHOICE = "choice"
    CHECKBOX = "checkbox"


class ResourceKind(StrEnum):
    GUIDE = "guide"
    BRAND_ASSET = "brand_asset"
    BANNER = "banner"
    VIDEO = "video"
    SWIPE_COPY = "swipe_copy"

    @property
    def label(self) -> str:
        return {
            "guide": "Guide",
            "brand_asset": "Brand asset",
            "banner": "Banner",
            "video": "Video",
            "swipe_copy": "Swipe copy",
        }[self.value]

    @property
    def needs_url(self) -> bool:
        """Videos, banners and brand assets are links (nothing is uploaded); swipe copy and guides may be text."""
        return self in (ResourceKind.VIDEO, ResourceKind.BANNER, ResourceKind.BRAND_ASSET)


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


# ---------------------------------------------------------------------------------- applications


@dataclass(frozen=True)
class QuestionSpec:
    id: str
    label: str
    kind: str
    required: bool
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    question_id: str
    label: str
    value: str


def is_web_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in text


def check_answers(
    questions: Sequence[QuestionSpec], submitted: Mapping[str, str]
) -> tuple[list[Answer], dict[str, str]]:
    """The answers to keep, and a message per question id that is not answered well (empty when all are)."""
    answers: list[Answer] = []
    errors: dict[str, str] = {}
    for question in questions:
        value = (submitted.get(question.id) or "").strip()
        if question.kind == QuestionKind.CHECKBOX:
            value = "yes" if value else ""
        if not value:
            if question.required:
                errors[question.id] = f"“{question.label}” needs an answer."
            continue
        if len(value) > MAX_ANSWER_LENGTH:
            errors[question.id] = f"“{question.label}” takes at most {MAX_ANSWER_LENGTH} characters."
        elif question.kind == QuestionKind.URL and not is_web_url(value):
            errors[question.id] = f"“{question.label}” must be a web address starting with https:// or http://."
        elif question.kind == QuestionKind.CHOICE and value not in question.options:
            errors[question.id] = f"“{question.label}”: choose one of the options."
        else:
            answers.append(Answer(question.id, question.label, value))
    return answers, errors


def status_on_apply(auto_approve: bool) -> ApplicationStatus:
    """A program that approves automatically approves at once; otherwise a manager reviews."""
    return ApplicationStatus.APPROVED if auto_approve else ApplicationStatus.PENDING


def parse_options(text: str) -> list[str]:
    """A choice question's options, one per line, blank lines and duplicates dropped."""
    seen: list[str] = []
    for line in text.splitlines():
        option = line.strip()
        if option and option not in seen:
            seen.append(option[:200])
    return seen


def is_hex_color(text: str) -> bool:
    return bool(_HEX_COLOR.match(text))


def is_country_code(text: str) -> bool:
    return bool(_COUNTRY.match(text))


def _channel(value: int) -> float:
    # WCAG 2 relative luminance of one sRGB channel (floats are fine here: no money passes)
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def contrast_ratio(color_a: str, color_b: str) -> float:
    """WCAG contrast ratio between two #rrggbb colours (1 to 21)."""

    def luminance(color: str) -> float:
        red, green, blue = (int(color[index : index + 2], 16) for index in (1, 3, 5))
        return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)

    lighter, darker = sorted((luminance(color_a), luminance(color_b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_color_on(background: str) -> str:
    """White text on a brand colour when it is readable (WCAG AA, 4.5:1), else near-black."""
    return "#ffffff" if contrast_ratio(background, "#ffffff") >= 4.5 else "#111827"


# ------------------------------------------------------------------------------------ onboarding


@dataclass(frozen=True)
class ChecklistFacts:
    profile_complete: bool
    payout_details: bool | None  # None: this installation takes no payout details yet
    links: int
    clicks: int


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    title: str
    done: bool
    href: str
    hint: str


@dataclass(frozen=True)
class Checklist:
    items: tuple[ChecklistItem, ...]

    @property
    def done(self) -> int:
        return sum(1 for item in self.items if item.done)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def percent(self) -> int:
        return 100 if not self.items else self.done * 100 // self.total

    @property
    def complete(self) -> bool:
        return self.done == self.total


def profile_complete(name: str | None, country: str | None, website: str | None) -> bool:
    """A profile has a name, a country and where the partner promotes."""
    return bool((name or "").strip()) and bool(country) and bool((website or "").strip())


def onboarding_checklist(facts: ChecklistFacts) -> Checklist:
    """Profile, payout details (when payouts take them), first link, first click, in that order."""
    items = [
        ChecklistItem("profile", "Complete your profile", facts.profile_complete, "/partner/profile",
                      "Your name, country and where you promote."),
    ]  # fmt: skip
    if facts.payout_details is not None:
        items.append(ChecklistItem("payout", "Add your payout details", facts.payout_details, "/partner/payouts",
                                   "Where we send your earnings."))  # fmt: skip
    items += [
        ChecklistItem("link", "Create your first link", facts.links > 0, "/partner/links",
                      "A short link to a page of the product, with your UTM fields."),
        ChecklistItem("click", "Get your first click", facts.clicks > 0, "/partner/links",
                      "Share your link: the first visitor shows up on your dashboard."),
    ]  # fmt: skip
    return Checklist(tuple(items))


# ------------------------------------------------------------------------------------- resources


def resource_visible(group_ids: Sequence[str], partner_group_id: str | None) -> bool:
    """A resource without groups is for every partner; else only for partners in one of its groups."""
    return not group_ids or (partner_group_id is not None and partner_group_id in group_ids)


# ----------------------------------------------------------------------------------------- links


def destination_with_utm(url: str, utm: Mapping[str, str]) -> str:
    """The URL with the given UTM fields set (replacing the same fields already there), order kept."""
    given = {field: value.strip() for field, value in utm.items() if field in UTM_FIELDS and value.strip()}
    if not given:
        return url
    parts = urlsplit(url)
    query = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name not in given]
    query += [(field, given[field]) for field in UTM_FIELDS if field in given]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def utm_problem(utm: Mapping[str, str]) -> str | None:
    for field, value in utm.items():
        if len(value.strip()) > MAX_UTM_LENGTH:
            return f"{field} takes at most {MAX_UTM_LENGTH} characters."
    return None


# ------------------------------------------------------------------------------------ date range


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def since(self) -> datetime:
        """The first moment of the range (UTC days, as the click rollups count them)."""
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    def until(self) -> datetime:
        """The first moment after the range."""
        after = self.end + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=UTC)


def default_range(today: date, days: int = DEFAULT_RANGE_DAYS) -> DateRange:
    return DateRange(today - timedelta(days=days - 1), today)


def parse_range(
    start_text: str | None, end_text: str | None, days_text: str | None, today: date
) -> tuple[DateRange, str | None]:
    """The range asked for (a preset of days, or from/to dates), else the default with a message why."""
    if days_text:
        if not days_text.isdigit() or not 1 <= int(days_text) <= MAX_RANGE_DAYS:
            return default_range(today), f"Days must be a number from 1 to {MAX_RANGE_DAYS}."
        return default_range(today, int(days_text)), None
    if not start_text and not end_text:
        return default_range(today), None
    try:
        end = date.fromisoformat(end_text) if end_text else today
        start = date.fromisoformat(start_text) if start_text else end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    except ValueError:
        return default_range(today), "Dates must look like 2026-03-31."
    if start > end:
        return default_range(today), "The start date must not be after the end date."
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        return default_range(today), f"A range covers at most {MAX_RANGE_DAYS} days."
    return DateRange(start, end), None


# ------------------------------------------------------------------------------------- dashboard


def conversion_rate(conversions: int, clicks: int) -> str:
    """ "2.5%" of clicks that converted; "–" without clicks."""
    if clicks <= 0:
        return "–"
    tenths = round_half_away(Fraction(conversions * 1000, clicks))
    return f"{tenths // 10}.{tenths % 10}%"


def earnings_per_click(earnings_amount: int, clicks: int) -> int | None:
    """EPC in minor units (rounded once), None without clicks."""
    if clicks <= 0:
        return None
    return round_half_away(Fraction(earnings_amount, clicks))


@dataclass(frozen=True)
class NextPayout:
    ready: bool
    sentence: str


def next_run_date(schedule: str, day_of_month: int, today: date) -> date | None:
    """The day of the next scheduled payout run (monthly on `day_of_month`, today included); None when manual."""
    if schedule != "monthly":
        return None
    year, month = today.year, today.month
    if today.day > day_of_month:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


def next_payout(
    approved_amount: int,
    min_payout_amount: int,
    currency: str,
    next_approval: datetime | None,
    *,
    next_run: date | None = None,
    has_payout_method: bool = True,
    money: Callable[[int, str], str] = format_money,
) -> NextPayout:
    """What the next payout will be, in words: from the approved unpaid earnings, the minimum, the schedule
    and whether the partner gave payout details."""
    later = f" The next commission is approved on {format_day(next_approval)}." if next_approval else ""
    details = "" if has_payout_method else " Add your payout details to be paid."
    if approved_amount <= 0:
        return NextPayout(False, f"Nothing is approved for payout yet.{later}{details}")
    approved = money(approved_amount, currency)
    if approved_amount >= min_payout_amount:
        run = f"the payout run of {format_day(next_run)}" if next_run else "the next payout run"
        return NextPayout(has_payout_method, f"{approved} is approved and goes into {run}.{details}")
    missing = money(min_payout_amount - approved_amount, currency)
    minimum = money(min_payout_amount, currency)
    return NextPayout(
        False, f"{approved} is approved: {missing} more reaches the minimum payout of {minimum}.{later}{details}"
    )


# ------------------------------------------------------------------------------- sharing

LINK_PLACEHOLDERS = ("{{link}}", "{link}", "[link]")  # the double braces first: "{link}" is inside them
CODE_PLACEHOLDERS = ("{{code}}", "{code}", "[code]")


def site_urls(domains: Sequence[str], params: Sequence[str], code: str) -> list[tuple[str, str]]:
    """(parameter, URL) of the program's site with the partner's code, one per accepted link parameter:
    `https://acme.test/?ref=jo`. Empty when the program has no domain."""
    if not domains:
        return []
    return [(param, f"https://{domains[0]}/?{urlencode({param: code})}") for param in params]


def personalize(body: str, link: str, code: str) -> str:
    """Swipe copy with the partner's own link and code: `{link}` / `{code}` (or `{{link}}`, `[link]`) are
    replaced; a text that names no link gets the link at its end, so what the partner copies credits them."""
    named_link = any(placeholder in body for placeholder in LINK_PLACEHOLDERS)
    for placeholder in LINK_PLACEHOLDERS:
        body = body.replace(placeholder, link)
    for placeholder in CODE_PLACEHOLDERS:
        body = body.replace(placeholder, code)
    if not named_link and link and link not in body:
        body = f"{body.rstrip()}\n\n{link}"
    return body


# ------------------------------------------------------------------------------------- previews

PREVIEWED_KINDS = (ResourceKind.BANNER.value, ResourceKind.BRAND_ASSET.value)


@dataclass(frozen=True)
class Previews:
    """Which resources show their image (id -> URL), and the hosts the page must allow images from."""

    urls: dict[str, str]
    origins: frozenset[str]


def image_previews(resources: Sequence[tuple[str, str, str | None]]) -> Previews:
    """Of (id, kind, url) resources, the banners and brand assets whose link is an image file on an http(s)
    host: the page shows them as images (loaded from the merchant's host, which its policy then allows)."""
    urls: dict[str, str] = {}
    origins: set[str] = set()
    for resource_id, kind, url in resources:
        origin = image_origin(url) if kind in PREVIEWED_KINDS else None
        if origin is not None and url:
            urls[resource_id] = url.strip()
            origins.add(origin)
    return Previews(urls, frozenset(origins))
