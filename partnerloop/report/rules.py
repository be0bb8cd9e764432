"""Report windows and time buckets: pure decisions over plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from partnerloop.report.metrics import METRICS, Figures

MAX_WINDOW_DAYS = 5 * 366  # "over 5 years" is refused
INTERVALS = ("day", "week", "month")


@dataclass(frozen=True)
class Window:
    """`start <= moment < end`, both UTC."""

    start: datetime
    end: datetime

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The last UTC day the window touches."""
        return (self.end - timedelta(microseconds=1)).date()

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> Window:
        """The window of the same length just before this one."""
        return Window(self.start - self.length, self.start)


def aware(moment: datetime) -> datetime:
    """A timestamp without a zone is read as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_problem(start: datetime, end: datetime) -> tuple[str, str] | None:
    """(field, sentence) when the window cannot be reported, else None."""
    if end <= start:
        return "to", "'to' must be after 'from'."
    if end - start > timedelta(days=MAX_WINDOW_DAYS):
        return "to", f"The window may span at most 5 years ({MAX_WINDOW_DAYS} days)."
    return None


def metric_problem(metric: str) -> tuple[str, str] | None:
    if metric not in METRICS:
        return "metric", f"Unknown metric '{metric}'; one of: {', '.join(METRICS)}."
    return None


def interval_problem(interval: str) -> tuple[str, str] | None:
    if interval not in INTERVALS:
        return "interval", f"interval must be one of {', '.join(INTERVALS)}."
    return None


def bucket_start(day: date, interval: str) -> date:
    """The first day of the day's bucket: itself, its ISO week's Monday, or its month's first."""
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def bucket_starts(first: date, last: date, interval: str) -> list[date]:
    """Every bucket from the one holding `first` to the one holding `last`, in order."""
    starts: list[date] = []
    current = bucket_start(first, interval)
    while current <= last:
        starts.append(current)
        if interval == "day":
            current += timedelta(days=1)
        elif interval == "week":
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return starts


def bucketed_figures(daily: dict[date, Figures], first: date, last: date, interval: str) -> list[tuple[date, Figures]]:
    """The daily figures summed per bucket, every bucket present (zeros where nothing happened)."""
    sums = {start: Figures() for start in bucket_starts(first, last, interval)}
    for day, figures in daily.items():
        if first <= day <= last:
            key = bucket_start(day, interval)
            sums[key] = sums[key] + figures
    return sorted(sums.items())
