"""Server-rendered SVG charts: no script, no file from the internet.

A chart is an <svg> without a viewBox: x positions are percentages of its width and y positions pixels, so
the bars stretch to any width while the tick labels stay real 12 px text on a phone and on a laptop (a
scaled viewBox shrinks text to nothing at phone width). Every chart has a <title>, a <desc>, a unit, both
axes with labelled ticks, and says so in words when there is nothing to draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from html import escape

from partnerloop.kit.time import format_day

HEIGHT = 200
TOP = 34  # room for the unit above the plot and the top tick's label
BOTTOM = 22  # room for the dates below it
X_TICKS = 5
Y_TICKS = 4


def daily_series(points: list[tuple[date, int]], start: date, end: date) -> list[tuple[date, int]]:
    """Every day from start to end inclusive, zero where there is no point."""
    values = dict(points)
    days = (end - start).days + 1
    return [(start + timedelta(days=offset), values.get(start + timedelta(days=offset), 0)) for offset in range(days)]


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


def nice_ticks(low: float, high: float, count: int = Y_TICKS, *, whole: bool = False) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 × a power of ten; whole numbers only when `whole`) from ≤ low to ≥ high,
    zero included."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    factors = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(power * factor for factor in factors if power * factor >= raw)
    if whole:
        step = max(float(round(step)), 1.0)
    first = step * math.floor(low / step)
    last = step * math.ceil(high / step)
    steps = round((last - first) / step)
    return [round(first + step * index, 10) for index in range(steps + 1)]


def _short_day(day: date, unit: str) -> str:
    return f"{day:%b %Y}" if unit == "month" else f"{day.day} {day:%b}"


def _period_words(days: Sequence[date], unit: str) -> str:
    if not days:
        return ""
    return f"{format_day(days[0])} to {format_day(days[-1])}, per {unit}"


def _svg(title: str, desc: str, body: str, extra_class: str = "") -> str:
    return (
        f'<svg class="chart{extra_class}" width="100%" height="{HEIGHT}" role="img" aria-label="{escape(title)}: '
        f'{escape(desc)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f"<desc>{escape(desc)}</desc>{body}</svg>"
    )


def _text(x: str, y: float, words: str, *, anchor: str = "start", cls: str = "tick") -> str:
    return (
        f'<text class="{cls}" x="{x}" y="{y}" text-anchor="{anchor}" font-size="12" '
        f'paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round">{escape(words)}</text>'
    )


def _frame(
    days: Sequence[date],
    ticks: list[float],
    y_of: Callable[[float], float],
    tick_label: Callable[[float], str],
    value_unit: str,
    unit: str,
) -> tuple[str, str]:
    """Grid lines with the value ticks (drawn under the bars), and the axes with the date ticks (over them)."""
    grid = []
    for tick in ticks:
        y = y_of(tick)
        grid.append(f'<line class="grid" x1="0" x2="100%" y1="{y}" y2="{y}" stroke="#d9dee7"/>')
    labels = [_text("0", round(y_of(tick) - 3, 1), tick_label(tick)) for tick in ticks if tick != 0]
    labels.append(_text("0", 14, f"{value_unit} per {unit}", cls="axis-title"))
    bottom = HEIGHT - BOTTOM
    axes = [
        f'<line class="axis" x1="0" x2="100%" y1="{y_of(0.0)}" y2="{y_of(0.0)}" stroke="#4f5869"/>',
        f'<line class="axis" x1="0" x2="0" y1="{TOP}" y2="{bottom}" stroke="#4f5869"/>',
        _text("0", round(y_of(0.0) - 3, 1), tick_label(0.0)),
    ]
    count = len(days)
    if count:
        shown = sorted({round(index * (count - 1) / (X_TICKS - 1)) for index in range(X_TICKS)}) if count > 1 else [0]
        for index in shown:
            centre = round((index + 0.5) * 100 / count, 2)
            anchor = "start" if index == 0 and count > 1 else "end" if index == count - 1 and count > 1 else "middle"
            x = "0%" if anchor == "start" else "100%" if anchor == "end" else f"{centre}%"
            axes.append(
                f'<line class="axis" x1="{centre}%" x2="{centre}%" y1="{bottom}" y2="{bottom + 4}" stroke="#4f5869"/>'
            )
            axes.append(_text(x, HEIGHT - 4, _short_day(days[index], unit), anchor=anchor))
    return "".join(grid), "".join(axes) + "".join(labels)


def _empty(title: str, empty_text: str, days: Sequence[date], unit: str) -> str:
    bottom = HEIGHT - BOTTOM
    body = f'<line class="axis" x1="0" x2="100%" y1="{bottom}" y2="{bottom}" stroke="#4f5869"/>' + _text(
        "50%", HEIGHT / 2, empty_text, anchor="middle", cls="empty"
    )
    if days:
        body += _text("0%", HEIGHT - 4, _short_day(days[0], unit)) + _text(
            "100%", HEIGHT - 4, _short_day(days[-1], unit), anchor="end"
        )
    period = _period_words(days, unit)
    return _svg(title, f"{empty_text}{' (' + period + ')' if period else ''}.", body, " empty")


def bar_chart_svg(
    series: list[tuple[date, int]],
    *,
    title: str,
    label: Callable[[int], str] = str,
    unit: str = "day",
    value_unit: str = "clicks",
    empty_text: str = "Nothing in this period",
) -> str:
    """One bar per day (week, month), with the values' axis in `value_unit` (ticks written by `label`), the
    dates' axis, a <title> and <desc>, and `empty_text` instead of bars when every value is zero."""
    days = [day for day, _value in series]
    peak = max((value for _day, value in series), default=0)
    if peak <= 0:
        return _empty(title, empty_text, days, unit)
    ticks = nice_ticks(0.0, float(peak), whole=True)
    top_value = ticks[-1]
    plot = HEIGHT - BOTTOM - TOP

    def y_of(value: float) -> float:
        return round(TOP + plot * (1 - value / top_value), 1)

    grid, frame = _frame(days, ticks, y_of, lambda tick: label(int(tick)), value_unit, unit)
    count = len(series)
    slot = 100 / count
    bars = []
    for index, (day, value) in enumerate(series):
        if value <= 0:
            continue
        top = y_of(float(value))
        bars.append(
            f'<rect x="{round(index * slot + slot * 0.1, 3)}%" y="{top}" width="{round(slot * 0.8, 3)}%" '
            f'height="{round(y_of(0.0) - top, 1)}"><title>{escape(format_day(day))}: {escape(label(value))}</title></rect>'
        )
    desc = f"{_period_words(days, unit)}; peak {label(peak)} per {unit} over {count} {unit}s"
    return _svg(title, desc, grid + "".join(bars) + frame)


def comparison_chart_svg(
    points: list[tuple[date, float | None, float | None]],
    *,
    title: str,
    label: Callable[[float | None], str],
    unit: str,
    value_unit: str = "",
    empty_text: str = "Nothing in this period",
) -> str:
    """Bars for this period and a dashed line for the previous one, on one scale with labelled axes; each bar's
    title gives both values (None, a ratio without a denominator, draws nothing); `empty_text` when no value of
    either period is other than zero."""
    days = [day for day, _current, _previous in points]
    values = [value for _day, current, previous in points for value in (current, previous) if value is not None]
    if not any(values):
        return _empty(title, empty_text, days, unit)
    ticks = nice_ticks(min(values), max(values))
    low, high = ticks[0], ticks[-1]
    plot = HEIGHT - BOTTOM - TOP

    def y_of(value: float) -> float:
        return round(TOP + plot * (high - value) / (high - low), 1)

    grid, frame = _frame(days, ticks, y_of, label, value_unit or title.split(" per ")[0], unit)
    count = len(points)
    slot = 100 / count
    zero = y_of(0.0)
    bars, line = [], []
    previous_point: tuple[float, float] | None = None
    for index, (day, current, previous) in enumerate(points):
        centre = round((index + 0.5) * slot, 3)
        tip = escape(f"{format_day(day)}: {label(current)} (previous period: {label(previous)})")
        if current is not None:
            y = y_of(current)
            bars.append(
                f'<rect x="{round(index * slot + slot * 0.1, 3)}%" y="{min(y, zero)}" width="{round(slot * 0.8, 3)}%" '
                f'height="{round(abs(zero - y), 1)}"><title>{tip}</title></rect>'
            )
        if previous is not None:
            point = (centre, y_of(previous))
            if previous_point is not None:
                line.append(
                    f'<line class="previous" x1="{previous_point[0]}%" y1="{previous_point[1]}" x2="{point[0]}%" '
                    f'y2="{point[1]}" stroke-dasharray="4 3"/>'
                )
            previous_point = point
        else:
            previous_point = None
    peak = max(values)
    desc = (
        f"{_period_words(days, unit)}; peak {label(peak)} per {unit} over {count} {unit}s; "
        "bars: this period, dashed line: the previous period"
    )
    return _svg(title, desc, grid + "".join(bars) + "".join(line) + frame)
