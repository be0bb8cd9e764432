"""Server-rendered SVG charts: no script, no file from the internet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from html import escape


def daily_series(points: list[tuple[date, int]], start: date, end: date) -> list[tuple[date, int]]:
    """Every day from start to end inclusive, zero where there is no point."""
    values = dict(points)
    days = (end - start).days + 1
    return [(start + timedelta(days=offset), values.get(start + timedelta(days=offset), 0)) for offset in range(days)]


def bar_chart_svg(
    series: list[tuple[date, int]],
    *,
    title: str,
    width: int = 720,
    height: int = 160,
    label: Callable[[int], str] = str,
    unit: str = "day",
) -> str:
    """Bars scaled to the largest value, with a title and the peak for screen readers (values shown by `label`)."""
    peak = max((value for _day, value in series), default=0)
    count = max(len(series), 1)
    gap = 1
    bar_width = max((width - gap * count) / count, 1.0)
    bars = []
    for index, (day, value) in enumerate(series):
        bar_height = 0 if peak == 0 else round((height - 20) * value / peak, 1)
        x = round(index * (bar_width + gap), 1)
        y = round(height - bar_height, 1)
        bars.append(
            f'<rect x="{x}" y="{y}" width="{round(bar_width, 1)}" height="{bar_height}">'
            f"<title>{day.isoformat()}: {escape(label(value))}</title></rect>"
        )
    summary = escape(f"{title}: peak {label(peak)} per {unit} over {len(series)} {unit}s")
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{summary}" '
        f'preserveAspectRatio="none">{"".join(bars)}</svg>'
    )


def bucketed(series: list[tuple[date, int]], max_bars: int = 92) -> tuple[list[tuple[date, int]], str]:
    """A daily series summed into weeks or months when it has more days than `max_bars`; with the unit's name."""
    if len(series) <= max_bars:
        return series, "day"
    unit = "week" if len(series) <= max_bars * 7 else "month"
    sums: dict[date, int] = {}
    for day, value in series:
        start = day - timedelta(days=day.weekday()) if unit == "week" else day.replace(day=1)
        sums[start] = sums.get(start, 0) + value
    return sorted(sums.items()), unit


def comparison_chart_svg(
    points: list[tuple[date, float | None, float | None]],
    *,
    title: str,
    label: Callable[[float | None], str],
    unit: str,
    width: int = 720,
    height: int = 180,
) -> str:
    """Bars for this period and a dashed line for the previous one, on one scale; each bar's title gives
    both values (None, a ratio without a denominator, draws nothing)."""
    values = [value for _day, current, previous in points for value in (current, previous) if value is not None]
    peak = max([*values, 0.0])
    low = min([*values, 0.0])
    span = (peak - low) or 1.0
    count = max(len(points), 1)
    slot = width / count
    bar_width = max(slot - 1, 1.0)

    def y_of(value: float) -> float:
        return round((height - 4) - (height - 24) * (value - low) / span, 1)

    zero = y_of(0.0)
    bars, line = [], []
    for index, (day, current, previous) in enumerate(points):
        x = round(index * slot, 1)
        tip = escape(f"{day.isoformat()}: {label(current)} (previous period: {label(previous)})")
        if current is not None:
            top = min(y_of(current), zero)
            bars.append(
                f'<rect x="{x}" y="{top}" width="{round(bar_width, 1)}" height="{round(abs(zero - y_of(current)), 1)}">'
                f"<title>{tip}</title></rect>"
            )
        else:
            bars.append(
                f'<rect x="{x}" y="{zero}" width="{round(bar_width, 1)}" height="0"><title>{tip}</title></rect>'
            )
        if previous is not None:
            line.append(f"{round(x + bar_width / 2, 1)},{y_of(previous)}")
    previous_line = (
        f'<polyline class="previous" points="{" ".join(line)}" fill="none" stroke-dasharray="4 3"/>' if line else ""
    )
    summary = escape(f"{title}: peak {label(peak)} per {unit} over {len(points)} {unit}s; dashed: the previous period")
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{summary}" '
        f'preserveAspectRatio="none">{"".join(bars)}{previous_line}</svg>'
    )
