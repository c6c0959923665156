"""Server-side chart geometry: bars stack per day, scale to a round maximum, stay in the plot."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from orderhub.web import charts

DAYS = [date(2026, 11, 20) + timedelta(days=n) for n in range(3)]


def test_bars_of_one_day_stack_without_gaps_or_overlap() -> None:
    chart = charts.stacked_bars(DAYS, {(DAYS[0], "app"): 2, (DAYS[0], "web"): 3})
    app, web = chart.bars
    assert app.x == web.x
    assert app.y == web.y + web.height or web.y == app.y + app.height
    assert abs(app.height + web.height - (chart.baseline - min(app.y, web.y))) < 0.2


def test_the_scale_rounds_up_to_one_two_or_five_times_a_power_of_ten() -> None:
    chart = charts.stacked_bars(DAYS, {(DAYS[1], "web"): 37})
    assert [t.text for t in chart.y_ticks] == ["0", "10", "20", "30", "40", "50"]
    small = charts.stacked_bars(DAYS, {(DAYS[1], "web"): 2})
    assert [t.text for t in small.y_ticks] == ["0", "1", "2"]


def test_heights_are_proportional_to_counts() -> None:
    chart = charts.stacked_bars(DAYS, {(DAYS[0], "web"): 10, (DAYS[2], "web"): 5})
    tall, short = chart.bars
    assert abs(tall.height - 2 * short.height) < 0.2


def test_every_bar_stays_inside_the_plot_area() -> None:
    counts = {(day, channel): n + 1 for n, day in enumerate(DAYS) for channel in ("a", "b", "c")}
    chart = charts.stacked_bars(DAYS, counts)
    for bar in chart.bars:
        assert chart.left <= bar.x
        assert bar.x + bar.width <= chart.right
        assert bar.y >= 0
        assert bar.y + bar.height <= chart.baseline + 0.1


def test_each_channel_keeps_one_colour_and_a_legend_entry() -> None:
    counts = {(day, channel): 1 for day in DAYS for channel in ("web", "app")}
    chart = charts.stacked_bars(DAYS, counts)
    assert [name for name, _colour in chart.legend] == ["app", "web"]
    colours = dict(chart.legend)
    for bar in chart.bars:
        channel = bar.title.split(", ")[1].split(":")[0]
        assert bar.colour == colours[channel]


def test_no_orders_makes_an_empty_chart_not_a_division_by_zero() -> None:
    chart = charts.stacked_bars(DAYS, {})
    assert chart.empty
    assert chart.bars == []


def test_eleven_channels_get_eleven_colours_and_more_than_colour_to_tell_them_apart() -> None:
    codes = [f"ch{n:02d}" for n in range(11)]
    drawn = charts.swatches(codes)
    assert len({s.colour for s in drawn.values()}) == 11
    assert len(charts.PALETTE) >= 12
    assert len(set(charts.PALETTE)) == len(charts.PALETTE)
    # Runs of four share a fill, so any colour that looks like another within its run of four
    # is still told apart by the fill from those outside it.
    assert [drawn[c].fill for c in codes] == ["solid"] * 4 + ["stripes"] * 4 + ["dots"] * 3
    assert (
        len({(s.colour, s.fill) for s in charts.swatches([f"c{n}" for n in range(24)]).values()})
        == 24
    )


def test_a_channel_keeps_its_colour_whichever_channels_have_orders() -> None:
    every = ["amazon", "app", "ebay", "web"]
    only_web = charts.stacked_bars(DAYS, {(DAYS[0], "web"): 1}, every)
    both = charts.stacked_bars(DAYS, {(DAYS[0], "web"): 1, (DAYS[0], "app"): 1}, every)
    assert dict(only_web.legend)["web"] == dict(both.legend)["web"]
    assert dict(both.legend)["app"] != dict(both.legend)["web"]


def test_patterned_channels_are_listed_for_the_page_to_define() -> None:
    every = [f"c{n:02d}" for n in range(11)]
    chart = charts.stacked_bars(DAYS, {(DAYS[0], "c09"): 1}, every)
    assert dict(chart.legend)["c09"] == "url(#fill-9)"
    assert [p.key for p in chart.patterns] == [9]
    assert chart.totals == {"c09": 1}


def test_day_labels_are_iso_dates_at_most_seven() -> None:
    days = [date(2026, 10, 26) + timedelta(days=n) for n in range(42)]
    chart = charts.stacked_bars(days, {(days[0], "web"): 1})
    labels = [date.fromisoformat(t.text) for t in chart.x_ticks]
    assert labels[-1] == days[-1]  # the latest day always has its label
    assert len(labels) <= 7
    steps = {(b - a).days for a, b in itertools.pairwise(labels)}
    assert len(steps) == 1  # evenly spaced, so no two labels crowd each other


def test_rate_bars_are_proportional_and_a_missing_rate_is_a_dash() -> None:
    chart = charts.rate_chart("Fill rate", [("app", 0.5), ("web", 1.0), ("woo", None)], ["web"])
    app, web, woo = chart.bars
    assert abs(web.width - 2 * app.width) < 0.2
    assert chart.left + web.width <= chart.right + 0.1
    assert (app.value, woo.value, woo.width) == ("50.0 %", "—", 0.0)
