"""Time: timezone-aware UTC everywhere, from one clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

# Clocks disagree (a merchant's server, Stripe's whole-second `created`, ours): two moments closer
# than this may be in either order. Beyond it an event time is in the future, or before its click.
MAX_CLOCK_SKEW = timedelta(minutes=5)


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes (as SQLite returns them) are UTC; aware ones are converted."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def months_between(start: datetime, end: datetime) -> int:
    """Whole calendar months from start to end (0 within the first month)."""
    start, end = as_utc(start), as_utc(end)
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if (end.day, end.time()) < (start.day, start.time()):
        months -= 1
    return max(months, 0)


def format_day(moment: date | datetime) -> str:
    """The one date format of every page: '4 Dec 2026' (a datetime is taken in UTC)."""
    if isinstance(moment, datetime):
        moment = as_utc(moment)
    return f"{moment.day} {moment:%b %Y}"


def format_moment(moment: datetime) -> str:
    """A moment on a page: '4 Dec 2026, 14:05 UTC'."""
    moment = as_utc(moment)
    return f"{format_day(moment)}, {moment:%H:%M} UTC"
