"""Server-rendered SVG charts: no script, no file from the internet."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape


def daily_series(points: list[tuple[date, int]], start: date, end: date) -> list[tuple[date, int]]:
    """Every day from start to end inclusive, zero where there is no point."""
    values = dict(points)
    days = (end - start).days + 1
    return [(start + timedelta(days=offset), values.get(start + timedelta(days=offset), 0)) for offset in range(days)]


def bar_chart_svg(series: list[tuple[date, int]], *, title: str, width: int = 720, height: int = 160) -> str:
    """Bars scaled to the largest value, with a title and the peak for screen readers."""
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
            f"<title>{day.isoformat()}: {value}</title></rect>"
        )
    label = escape(f"{title}: peak {peak} per day over {len(series)} days")
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
        f'preserveAspectRatio="none">{"".join(bars)}</svg>'
    )
