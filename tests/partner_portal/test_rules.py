"""The portal's pure decisions as tables: answers, checklist, visibility, UTM, ranges, ratios, next payout."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from partnerloop.partner_portal.rules import (
    ApplicationStatus,
    ChecklistFacts,
    DateRange,
    QuestionSpec,
    check_answers,
    contrast_ratio,
    conversion_rate,
    destination_with_utm,
    earnings_per_click,
    next_payout,
    next_run_date,
    onboarding_checklist,
    parse_options,
    parse_range,
    profile_complete,
    resource_visible,
    status_on_apply,
    text_color_on,
    utm_problem,
)

AUDIENCE = QuestionSpec("q1", "Audience size", "text", required=True)
CHANNEL = QuestionSpec("q2", "Main channel", "choice", required=True, options=("Blog", "YouTube"))
PROFILE = QuestionSpec("q3", "Profile", "url", required=False)
AGREE = QuestionSpec("q4", "I disclose affiliate links", "checkbox", required=True)
QUESTIONS = [AUDIENCE, CHANNEL, PROFILE, AGREE]

ANSWERS = [
    pytest.param(
        {"q1": " 12k ", "q2": "Blog", "q3": "https://blog.example", "q4": "on"},
        {},
        [("q1", "12k"), ("q2", "Blog"), ("q3", "https://blog.example"), ("q4", "yes")],
        id="complete answers are kept trimmed, a ticked box reads yes",
    ),
    pytest.param(
        {"q1": "12k", "q2": "Blog", "q4": "on"},
        {},
        [("q1", "12k"), ("q2", "Blog"), ("q4", "yes")],
        id="an optional question may stay empty",
    ),
    pytest.param(
        {"q1": "  ", "q2": "Blog", "q4": "on"},
        {"q1": "“Audience size” needs an answer."},
        [("q2", "Blog"), ("q4", "yes")],
        id="a blank answer to a required question is missing",
    ),
    pytest.param(
        {"q1": "1", "q2": "TikTok", "q4": "on"},
        {"q2": "“Main channel”: choose one of the options."},
        [("q1", "1"), ("q4", "yes")],
        id="a choice outside the options is refused",
    ),
    pytest.param(
        {"q1": "1", "q2": "Blog", "q3": "javascript:alert(1)", "q4": "on"},
        {"q3": "“Profile” must be a web address starting with https:// or http://."},
        [("q1", "1"), ("q2", "Blog"), ("q4", "yes")],
        id="a web address must be http or https",
    ),
    pytest.param(
        {"q1": "x" * 2001, "q2": "Blog", "q4": "on"},
        {"q1": "“Audience size” takes at most 2000 characters."},
        [("q2", "Blog"), ("q4", "yes")],
        id="an answer longer than 2000 characters is refused",
    ),
    pytest.param(
        {"q1": "1", "q2": "Blog"},
        {"q4": "“I disclose affiliate links” needs an answer."},
        [("q1", "1"), ("q2", "Blog")],
        id="a required box left unticked is missing",
    ),
]


@pytest.mark.parametrize(("submitted", "errors", "kept"), ANSWERS)
def test_answers_are_checked_against_their_questions(
    submitted: dict[str, str], errors: dict[str, str], kept: list[tuple[str, str]]
) -> None:
    answers, problems = check_answers(QUESTIONS, submitted)
    assert problems == errors
    assert [(answer.question_id, answer.value) for answer in answers] == kept


@pytest.mark.parametrize(
    ("auto_approve", "status"),
    [
        pytest.param(True, ApplicationStatus.APPROVED, id="a program that auto-approves approves at once"),
        pytest.param(False, ApplicationStatus.PENDING, id="a program that reviews keeps the applicant pending"),
    ],
)
def test_status_on_apply(auto_approve: bool, status: ApplicationStatus) -> None:
    assert status_on_apply(auto_approve) is status


def test_choice_options_are_one_per_line_without_blanks_or_repeats() -> None:
    assert parse_options("Blog\n\n  YouTube \nBlog\nNewsletter") == ["Blog", "YouTube", "Newsletter"]


@pytest.mark.parametrize(
    ("background", "text"),
    [
        pytest.param("#2454c5", "#ffffff", id="white text on a dark blue"),
        pytest.param("#ffd400", "#111827", id="dark text on a bright yellow"),
        pytest.param("#ffffff", "#111827", id="dark text on white"),
        pytest.param("#000000", "#ffffff", id="white text on black"),
    ],
)
def test_brand_colour_gets_readable_text(background: str, text: str) -> None:
    assert text_color_on(background) == text
    assert contrast_ratio(background, text) >= 4.5


# ------------------------------------------------------------------------------------ onboarding


CHECKLISTS = [
    pytest.param(ChecklistFacts(False, None, 0, 0), [False, False, False], id="a new partner has everything to do"),
    pytest.param(ChecklistFacts(True, None, 1, 0), [True, True, False], id="profile and link done, no click yet"),
    pytest.param(ChecklistFacts(True, None, 2, 5), [True, True, True], id="all done"),
    pytest.param(
        ChecklistFacts(True, False, 1, 1),
        [True, False, True, True],
        id="payout details are a step once payouts take them",
    ),
]


@pytest.mark.parametrize(("facts", "done"), CHECKLISTS)
def test_checklist_is_derived_from_facts(facts: ChecklistFacts, done: list[bool]) -> None:
    checklist = onboarding_checklist(facts)
    assert [item.done for item in checklist.items] == done
    assert checklist.done == sum(done)
    assert checklist.percent == sum(done) * 100 // len(done)
    assert checklist.complete is all(done)


@pytest.mark.parametrize(
    ("name", "country", "website", "complete"),
    [
        pytest.param("Jo", "de", "https://jo.example", True, id="name, country and website make a profile"),
        pytest.param("Jo", None, "https://jo.example", False, id="no country"),
        pytest.param("Jo", "de", "  ", False, id="a blank website"),
        pytest.param(" ", "de", "https://jo.example", False, id="a blank name"),
    ],
)
def test_profile_completeness(name: str, country: str | None, website: str, complete: bool) -> None:
    assert profile_complete(name, country, website) is complete


@pytest.mark.parametrize(
    ("groups", "partner_group", "visible"),
    [
        pytest.param([], None, True, id="a resource without groups is for every partner"),
        pytest.param([], "gold", True, id="a resource without groups is for grouped partners too"),
        pytest.param(["gold"], "gold", True, id="a gold resource is for gold partners"),
        pytest.param(["gold", "silver"], "silver", True, id="any of its groups"),
        pytest.param(["gold"], "bronze", False, id="a gold resource is hidden from bronze partners"),
        pytest.param(["gold"], None, False, id="a gold resource is hidden from partners without a group"),
    ],
)
def test_resource_visibility(groups: list[str], partner_group: str | None, visible: bool) -> None:
    assert resource_visible(groups, partner_group) is visible


# ----------------------------------------------------------------------------------------- links


UTM = [
    pytest.param("https://acme.test/pricing", {}, "https://acme.test/pricing", id="no UTM fields: the URL as given"),
    pytest.param(
        "https://acme.test/pricing",
        {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": " spring "},
        "https://acme.test/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
        id="fields are added in the standard order, trimmed",
    ),
    pytest.param(
        "https://acme.test/p?ref=1&utm_source=old#plans",
        {"utm_source": "new", "utm_term": "a b"},
        "https://acme.test/p?ref=1&utm_source=new&utm_term=a+b#plans",
        id="a field already there is replaced, other parameters and the fragment are kept",
    ),
    pytest.param(
        "https://acme.test/",
        {"utm_source": "", "other": "x"},
        "https://acme.test/",
        id="empty and unknown fields are ignored",
    ),
]


@pytest.mark.parametrize(("url", "utm", "expected"), UTM)
def test_destination_with_utm(url: str, utm: dict[str, str], expected: str) -> None:
    assert destination_with_utm(url, utm) == expected


def test_a_utm_value_over_200_characters_is_refused() -> None:
    assert utm_problem({"utm_source": "x" * 201}) == "utm_source takes at most 200 characters."
    assert utm_problem({"utm_source": "x" * 200}) is None


# ------------------------------------------------------------------------------------ date range

TODAY = date(2026, 3, 31)

RANGES = [
    pytest.param(None, None, None, DateRange(date(2026, 3, 2), TODAY), None, id="the default is the last 30 days"),
    pytest.param(None, None, "7", DateRange(date(2026, 3, 25), TODAY), None, id="a preset of 7 days ends today"),
    pytest.param(
        "2026-01-01", "2026-01-31", None, DateRange(date(2026, 1, 1), date(2026, 1, 31)), None, id="from and to dates"
    ),
    pytest.param(
        "2026-02-01", None, None, DateRange(date(2026, 2, 1), TODAY), None, id="a start date alone runs to today"
    ),
    pytest.param(
        "2026-02-30",
        None,
        None,
        DateRange(date(2026, 3, 2), TODAY),
        "Dates must look like 2026-03-31.",
        id="an impossible date falls back to the default with a message",
    ),
    pytest.param(
        "2026-03-10",
        "2026-03-01",
        None,
        DateRange(date(2026, 3, 2), TODAY),
        "The start date must not be after the end date.",
        id="a start after the end is refused",
    ),
    pytest.param(
        "2024-01-01",
        "2026-01-01",
        None,
        DateRange(date(2026, 3, 2), TODAY),
        "A range covers at most 366 days.",
        id="more than a year is refused",
    ),
    pytest.param(
        None, None, "0", DateRange(date(2026, 3, 2), TODAY), "Days must be a number from 1 to 366.", id="zero days"
    ),
    pytest.param(
        None, None, "abc", DateRange(date(2026, 3, 2), TODAY), "Days must be a number from 1 to 366.", id="not a number"
    ),
]


@pytest.mark.parametrize(("start", "end", "days", "expected", "problem"), RANGES)
def test_date_range(
    start: str | None, end: str | None, days: str | None, expected: DateRange, problem: str | None
) -> None:
    assert parse_range(start, end, days, TODAY) == (expected, problem)


def test_a_range_covers_whole_utc_days() -> None:
    period = DateRange(date(2026, 3, 1), date(2026, 3, 31))
    assert period.days == 31
    assert period.since() == datetime(2026, 3, 1, tzinfo=UTC)
    assert period.until() == datetime(2026, 4, 1, tzinfo=UTC)


# ------------------------------------------------------------------------------------- dashboard


@pytest.mark.parametrize(
    ("conversions", "clicks", "rate"),
    [
        pytest.param(0, 0, "–", id="no clicks: no rate"),
        pytest.param(1, 40, "2.5%", id="one in forty"),
        pytest.param(1, 3, "33.3%", id="rounded to a tenth"),
        pytest.param(2, 3, "66.7%", id="halves and above round up"),
        pytest.param(5, 5, "100.0%", id="all"),
    ],
)
def test_conversion_rate(conversions: int, clicks: int, rate: str) -> None:
    assert conversion_rate(conversions, clicks) == rate


@pytest.mark.parametrize(
    ("earnings", "clicks", "epc"),
    [
        pytest.param(0, 0, None, id="no clicks: no EPC"),
        pytest.param(1000, 4, 250, id="ten dollars over four clicks"),
        pytest.param(100, 3, 33, id="rounded once to the minor unit"),
        pytest.param(5, 2, 3, id="a half rounds away from zero"),
    ],
)
def test_earnings_per_click(earnings: int, clicks: int, epc: int | None) -> None:
    assert earnings_per_click(earnings, clicks) == epc


NEXT = datetime(2026, 4, 12, 8, 0, tzinfo=UTC)
PAYOUTS = [
    pytest.param(0, None, False, "Nothing is approved for payout yet.", id="nothing approved, nothing pending"),
    pytest.param(
        0,
        NEXT,
        False,
        "Nothing is approved for payout yet. The next commission is approved on 12 Apr 2026.",
        id="nothing approved, a commission on hold",
    ),
    pytest.param(7500, None, True, "75.00 USD is approved and goes into the next payout run.", id="over the minimum"),
    pytest.param(
        5000, None, True, "50.00 USD is approved and goes into the next payout run.", id="exactly the minimum"
    ),
    pytest.param(
        1200,
        NEXT,
        False,
        "12.00 USD is approved: 38.00 USD more reaches the minimum payout of 50.00 USD. "
        "The next commission is approved on 12 Apr 2026.",
        id="under the minimum",
    ),
]


@pytest.mark.parametrize(("approved", "next_approval", "ready", "sentence"), PAYOUTS)
def test_next_payout(approved: int, next_approval: datetime | None, ready: bool, sentence: str) -> None:
    verdict = next_payout(approved, 5000, "usd", next_approval)
    assert (verdict.ready, verdict.sentence) == (ready, sentence)


@pytest.mark.parametrize(
    ("next_run", "has_method", "ready", "sentence"),
    [
        pytest.param(
            date(2026, 5, 1), True, True, "75.00 USD is approved and goes into the payout run of 1 May 2026.",
            id="a monthly schedule names the run",
        ),
        pytest.param(
            None, False, False,
            "75.00 USD is approved and goes into the next payout run. Add your payout details to be paid.",
            id="without payout details nothing is paid",
        ),
    ],
)  # fmt: skip
def test_next_payout_with_schedule_and_details(
    next_run: date | None, has_method: bool, ready: bool, sentence: str
) -> None:
    verdict = next_payout(7500, 5000, "usd", None, next_run=next_run, has_payout_method=has_method)
    assert (verdict.ready, verdict.sentence) == (ready, sentence)


@pytest.mark.parametrize(
    ("schedule", "day", "today", "expected"),
    [
        pytest.param("manual", 1, date(2026, 3, 10), None, id="manual payouts have no date"),
        pytest.param("monthly", 15, date(2026, 3, 10), date(2026, 3, 15), id="later this month"),
        pytest.param("monthly", 15, date(2026, 3, 15), date(2026, 3, 15), id="today is the day"),
        pytest.param("monthly", 1, date(2026, 3, 10), date(2026, 4, 1), id="next month"),
        pytest.param("monthly", 5, date(2026, 12, 20), date(2027, 1, 5), id="across the new year"),
    ],
)
def test_next_run_date(schedule: str, day: int, today: date, expected: date | None) -> None:
    assert next_run_date(schedule, day, today) == expected
