"""Server-side chart geometry: bars stack per day, scale to a round maximum, stay in the plot."""

from __future__ import annotations

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
