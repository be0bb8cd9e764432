"""How pages write figures: money by Babel in the viewer's locale, one date format, the locale from the header."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from partnerloop.kit.money import display_money, email_money, format_money
from partnerloop.kit.time import format_day, format_moment
from partnerloop.web.pages import negotiate_locale

NBSP = "\xa0"
NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "text"),
    [
        pytest.param(123450, "usd", "en", "$1,234.50", id="dollars in English have a symbol and a comma"),
        pytest.param(123450, "eur", "de_DE", f"1.234,50{NBSP}€", id="euros in German put the sign after"),
        pytest.param(123450, "eur", "fr_FR", f"1{NNBSP}234,50{NBSP}€", id="French groups with a narrow space"),
        pytest.param(123450, "usd", "en_GB", "US$1,234.50", id="a British reader sees which dollar"),
        pytest.param(120000, "jpy", "en", "¥120,000", id="yen have no minor unit"),
        pytest.param(-1500, "kwd", "en", "-KWD1.500", id="dinars have three decimals and a sign"),
        pytest.param(5, "usd", "en", "$0.05", id="cents stay exact"),
        pytest.param(10**15 + 1, "usd", "en", "$10,000,000,000,000.01", id="large amounts stay exact (no float)"),
    ],
)  # fmt: skip
def test_display_money_writes_the_amount_as_the_reader_does(amount: int, currency: str, locale: str, text: str) -> None:
    assert display_money(amount, currency, locale) == text


def test_format_money_for_csv_and_stored_texts_is_unchanged() -> None:
    assert format_money(123450, "usd") == "1234.50 USD"


def test_email_money_reads_like_pages_in_english_unless_the_recipient_has_a_locale() -> None:
    assert email_money(123450, "usd") == "$1,234.50"
    assert email_money(123450, "eur", "de_DE") == f"1.234,50{NBSP}€"


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        pytest.param("", "en", id="no header falls back to English"),
        pytest.param("de-DE,de;q=0.9,en;q=0.8", "de_DE", id="the first language wins"),
        pytest.param("en;q=0.3, fr-FR;q=0.8", "fr_FR", id="the highest weight wins, not the first"),
        pytest.param("xx-YY, pt-BR", "pt_BR", id="an unknown language is skipped"),
        pytest.param("*", "en", id="a wildcard falls back to English"),
        pytest.param("de;q=abc", "en", id="a broken weight is ignored"),
        pytest.param(";;,,q=", "en", id="garbage falls back to English"),
    ],
)  # fmt: skip
def test_the_viewer_locale_comes_from_accept_language(header: str, locale: str) -> None:
    assert negotiate_locale(header) == locale


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        pytest.param(date(2026, 12, 4), "4 Dec 2026", id="a day has no leading zero"),
        pytest.param(datetime(2026, 1, 31, 23, 59, tzinfo=UTC), "31 Jan 2026", id="a moment's day"),
        pytest.param(datetime(2026, 12, 4, 23, 30, tzinfo=timezone(timedelta(hours=-3))), "5 Dec 2026",
                     id="a moment elsewhere is taken in UTC"),
        pytest.param(datetime(2026, 12, 4, 14, 5), "4 Dec 2026", id="a naive moment (SQLite) is UTC"),
    ],
)  # fmt: skip
def test_format_day(moment: date | datetime, text: str) -> None:
    assert format_day(moment) == text


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        pytest.param(datetime(2026, 12, 4, 14, 5, tzinfo=UTC), "4 Dec 2026, 14:05 UTC", id="a moment in UTC"),
        pytest.param(datetime(2026, 12, 4, 14, 5, 59), "4 Dec 2026, 14:05 UTC", id="seconds are left out"),
        pytest.param(datetime(2026, 12, 4, 16, 5, tzinfo=timezone(timedelta(hours=2))), "4 Dec 2026, 14:05 UTC",
                     id="another offset is converted"),
    ],
)  # fmt: skip
def test_format_moment(moment: datetime, text: str) -> None:
    assert format_moment(moment) == text
