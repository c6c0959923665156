"""Server-side SVG charts: geometry computed here, drawn by a template. No JavaScript.

The chart is a stacked bar per day, one colour and fill pattern per channel, with a data table
beside it for screen readers and for anyone who wants the exact numbers. Days are ISO dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# Twelve colours, in channel order: Okabe–Ito's seven (colour-blind safe) and five of Paul Tol's
# (indigo, green, wine, olive, grey). Twelve hues cannot all stay apart for every kind of colour
# blindness, so each run of four also has its own fill (solid, stripes, dots: FILLS) and the
# legend, titles and the table name the channel: colour is never the only cue.
PALETTE = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7",
    "#56B4E9", "#D55E00", "#F0E442", "#332288",
    "#117733", "#882255", "#999933", "#777777",
]  # fmt: skip
FILLS = ["solid", "stripes", "dots"]


@dataclass(frozen=True)
class Swatch:
    """How one channel is drawn: ``paint`` is the SVG fill (a colour or a pattern)."""

    key: int
    colour: str
    fill: str  # one of FILLS

    @property
    def paint(self) -> str:
        return self.colour if self.fill == "solid" else f"url(#fill-{self.key})"


def swatches(channels: list[str]) -> dict[str, Swatch]:
    """A distinct colour for each of up to twelve channels (then they repeat with another
    fill), in the order given: pass every channel of the hub, so a channel keeps its colour
    whichever channels have orders in the period shown."""
    return {
        channel: Swatch(
            index, PALETTE[index % len(PALETTE)], FILLS[(index // 4 + index // 12) % len(FILLS)]
        )
        for index, channel in enumerate(channels)
    }


WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 36, 12, 40  # right: half of the last day's ISO label


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str  # the SVG fill: a colour or url(#fill-N)
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
    legend: list[tuple[str, str]]  # (channel, paint)
    patterns: list[Swatch]  # the <pattern>s the bars and the legend use
    totals: dict[str, int]  # orders per channel over the period, for the legend
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


def stacked_bars(
    days: list[date], counts: dict[tuple[date, str], int], every_channel: list[str] | None = None
) -> StackedBars:
    """Bars for ``counts[(day, channel)]`` across ``days``; channels sorted by code, coloured
    by their place in ``every_channel`` (default: the channels with orders)."""
    channels = sorted({channel for _day, channel in counts})
    drawn = swatches(sorted(set(every_channel or []) | set(channels)))
    colours = {c: drawn[c].paint for c in channels}
    totals = [sum(counts.get((d, c), 0) for c in channels) for d in days]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1.0)
    bars: list[Bar] = []
    x_ticks: list[Tick] = []
    every = max(1, -(-len(days) // 7))  # at most 7 labels: an ISO date is wide
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
        if (len(days) - 1 - index) % every == 0:  # counted back from today: it is labelled
            x_ticks.append(Tick(round(x + bar_w / 2, 1), day.isoformat()))
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
        patterns=[drawn[c] for c in channels if drawn[c].fill != "solid"],
        totals={c: sum(counts.get((d, c), 0) for d in days) for c in channels},
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
    every = max(1, -(-len(days) // 7))  # at most 7 labels: an ISO date is wide
    for index, day in enumerate(days):
        x = LEFT + index * slot + (slot - bar_w) / 2
        if day in values:
            hours, shipped = values[day]
            h = plot_h * hours / top
            title = f"{day.isoformat()}: {hours:.1f} h on average over {shipped} shipped order(s)"
            bars.append(Bar(round(x, 1), round(TOP + plot_h - h, 1), round(bar_w, 1), round(h, 1),
                            PALETTE[2], title))  # fmt: skip
        if (len(days) - 1 - index) % every == 0:  # counted back from today: it is labelled
            x_ticks.append(Tick(round(x + bar_w / 2, 1), day.isoformat()))
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


@dataclass(frozen=True)
class RateBar:
    y: float
    width: float
    paint: str
    label: str  # the channel
    value: str  # "93.5 %"
    title: str


@dataclass(frozen=True)
class RateChart:
    """One rate (fill, split, on-time, return) per channel as horizontal bars, 0–100 %."""

    name: str
    width: int
    height: int
    left: float
    right: float
    bar_height: float
    bars: list[RateBar]
    patterns: list[Swatch]
    grid: list[Tick]  # x positions of 0, 25, 50, 75, 100 %


RATE_WIDTH, RATE_LEFT, RATE_RIGHT, RATE_ROW = 360, 90, 60, 22


def rate_chart(
    name: str, rates: list[tuple[str, float | None]], every_channel: list[str]
) -> RateChart:
    """Bars for ``rates`` (channel, fraction or None when there is nothing to rate)."""
    drawn = swatches(sorted(set(every_channel) | {c for c, _ in rates}))
    plot = RATE_WIDTH - RATE_LEFT - RATE_RIGHT
    bars = []
    for row, (channel, rate) in enumerate(rates):
        shown = "—" if rate is None else f"{rate * 100:.1f} %"
        bars.append(
            RateBar(
                y=TOP + row * RATE_ROW,
                width=round(plot * (rate or 0.0), 1),
                paint=drawn[channel].paint,
                label=channel,
                value=shown,
                title=f"{channel}: {name} {shown}",
            )
        )
    used = {drawn[c] for c, _ in rates}
    return RateChart(
        name=name,
        width=RATE_WIDTH,
        height=TOP + max(len(rates), 1) * RATE_ROW + 18,
        left=RATE_LEFT,
        right=RATE_WIDTH - RATE_RIGHT,
        bar_height=RATE_ROW - 6,
        bars=bars,
        patterns=sorted((s for s in used if s.fill != "solid"), key=lambda s: s.key),
        grid=[Tick(round(RATE_LEFT + plot * k / 4, 1), f"{25 * k} %") for k in range(5)],
    )
