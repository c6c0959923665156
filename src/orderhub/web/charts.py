"""Server-side SVG charts: geometry computed here, drawn by a template. No JavaScript.

The chart is a stacked bar per day, one colour per channel, with a data table beside it for
screen readers and for anyone who wants the exact numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# Colour-blind-safe palette (Okabe–Ito), in channel order.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 40


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    text: str


@dataclass(frozen=True)
class StackedBars:
    width: int
    height: int
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    legend: list[tuple[str, str]]  # (channel, colour)
    baseline: float
    left: float
    right: float
    days: list[date]
    channels: list[str]
    counts: dict[tuple[date, str], int]
    empty: bool


def _nice_max(value: int) -> int:
    """The smallest of 1, 2, 5 × 10ⁿ at or above ``value`` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def stacked_bars(days: list[date], counts: dict[tuple[date, str], int]) -> StackedBars:
    """Bars for ``counts[(day, channel)]`` across ``days``; channels sorted by code."""
    channels = sorted({channel for _day, channel in counts})
    colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(channels)}
    totals = [sum(counts.get((d, c), 0) for c in channels) for d in days]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1.0)
    bars: list[Bar] = []
    x_ticks: list[Tick] = []
    every = max(1, len(days) // 7)
    for index, day in enumerate(days):
        x = LEFT + index * slot + (slot - bar_w) / 2
        y = float(TOP + plot_h)
        for channel in channels:
            count = counts.get((day, channel), 0)
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            title = f"{day.isoformat()}, {channel}: {count} order{'s' if count != 1 else ''}"
            bars.append(Bar(round(x, 1), round(y, 1), round(bar_w, 1), round(h, 1),
                            colours[channel], title))  # fmt: skip
        if index % every == 0 or index == len(days) - 1:
            x_ticks.append(Tick(round(x + bar_w / 2, 1), day.strftime("%d %b")))
    steps = top if top <= 5 else (4 if str(top).startswith("2") else 5)  # integral ticks
    y_ticks = [
        Tick(round(TOP + plot_h - plot_h * k / steps, 1), str(top * k // steps))
        for k in range(steps + 1)
    ]
    return StackedBars(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        legend=[(c, colours[c]) for c in channels],
        baseline=TOP + plot_h,
        left=LEFT,
        right=WIDTH - RIGHT,
        days=days,
        channels=channels,
        counts=counts,
        empty=not any(totals),
    )


@dataclass(frozen=True)
class Bars:
    """One series of bars (hours of lead time per day), with the same axes as the stacked chart."""

    width: int
    height: int
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    baseline: float
    left: float
    right: float
    rows: list[tuple[date, float, int]]  # (day, value, how many it averages)
    empty: bool


def lead_time_bars(days: list[date], values: dict[date, tuple[float, int]]) -> Bars:
    """Average hours placed → shipped per day; ``values[day] = (hours, orders shipped)``."""
    top = _nice_max(max((int(v[0]) + 1 for v in values.values()), default=1))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1.0)
    bars: list[Bar] = []
    x_ticks: list[Tick] = []
    every = max(1, len(days) // 7)
    for index, day in enumerate(days):
        x = LEFT + index * slot + (slot - bar_w) / 2
        if day in values:
            hours, shipped = values[day]
            h = plot_h * hours / top
            title = f"{day.isoformat()}: {hours:.1f} h on average over {shipped} shipped order(s)"
            bars.append(Bar(round(x, 1), round(TOP + plot_h - h, 1), round(bar_w, 1), round(h, 1),
                            PALETTE[2], title))  # fmt: skip
        if index % every == 0 or index == len(days) - 1:
            x_ticks.append(Tick(round(x + bar_w / 2, 1), day.strftime("%d %b")))
    steps = 4 if top >= 4 and top % 4 == 0 else (5 if top >= 5 else top)
    y_ticks = [
        Tick(round(TOP + plot_h - plot_h * k / steps, 1), f"{top * k / steps:g} h")
        for k in range(steps + 1)
    ]
    return Bars(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        baseline=TOP + plot_h,
        left=LEFT,
        right=WIDTH - RIGHT,
        rows=[(d, values[d][0], values[d][1]) for d in days if d in values],
        empty=not values,
    )
