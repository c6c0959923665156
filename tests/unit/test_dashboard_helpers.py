"""Pure helpers of the operations pages: rule diffs, the simulate form's lines, ages, and the
lead-time chart's geometry."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from orderhub.store.routing import RuleVersion
from orderhub.web.charts import HEIGHT, TOP, lead_time_bars
from orderhub.web.pages.exceptions import age
from orderhub.web.pages.order_actions import plans_of
from orderhub.web.pages.routing import diff_lines, parse_lines


def version(number: int, rules: dict[str, object]) -> RuleVersion:
    return RuleVersion(number, rules, "ops", None, datetime(2026, 11, 1, tzinfo=UTC), False)


def test_the_diff_marks_removed_and_added_lines_of_the_pretty_json() -> None:
    diff = diff_lines(version(1, {"a": 1, "b": 2}), version(2, {"a": 1, "b": 3}))
    assert ("del", '-  "b": 2') in diff
    assert ("add", '+  "b": 3') in diff
    assert diff[0] == ("", "--- version 1")
    assert diff[1] == ("", "+++ version 2")
    assert any(kind == "hunk" for kind, _text in diff)


def test_identical_versions_have_an_empty_diff() -> None:
    assert diff_lines(version(1, {"a": 1}), version(2, {"a": 1})) == []


def test_simulate_lines_take_sku_and_quantity_per_row_with_one_as_default() -> None:
    assert parse_lines("A 2\n\nB,3\nC\n") == [("A", 2), ("B", 3), ("C", 1)]


@pytest.mark.parametrize("text", ["", "A 0", "A 100001"])
def test_simulate_lines_refuse_nothing_and_impossible_quantities(text: str) -> None:
    with pytest.raises(ValueError, match=r"line|quantity"):
        parse_lines(text)


@pytest.mark.parametrize(
    ("seconds", "shown"), [(59, "0m"), (61 * 60, "1h 1m"), (26 * 3600 + 300, "1d 2h")]
)
def test_ages_show_the_two_largest_units(seconds: int, shown: str) -> None:
    assert age(seconds) == shown


def test_allocations_are_grouped_by_the_decision_that_made_them() -> None:
    explanation = {"rules_version": 0, "chosen": {"total": "5.00"}}
    views = [
        {"id": "a1", "strategy": "routing.exact", "explanation": explanation},
        {"id": "a2", "strategy": "routing.exact", "explanation": dict(explanation)},
        {"id": "a3", "strategy": "routing.exact", "explanation": {"rules_version": 1}},
    ]
    plans = plans_of(views)
    assert [[a["id"] for a in p["allocations"]] for p in plans] == [["a1", "a2"], ["a3"]]


def test_lead_time_bars_scale_to_the_longest_day_and_skip_days_without_shipments() -> None:
    days = [date(2026, 11, d) for d in (1, 2, 3)]
    chart = lead_time_bars(days, {days[0]: (3.0, 2), days[2]: (9.5, 1)})
    assert len(chart.bars) == 2
    tallest = max(chart.bars, key=lambda b: b.height)
    assert tallest.y >= TOP
    assert tallest.y + tallest.height == pytest.approx(chart.baseline, abs=0.2)
    assert chart.y_ticks[-1].text == "10 h"
    assert "9.5 h on average over 1 shipped" in tallest.title
    assert not chart.empty
    assert chart.height == HEIGHT


def test_lead_time_bars_without_shipments_say_so() -> None:
    chart = lead_time_bars([date(2026, 11, 1)], {})
    assert chart.empty
    assert chart.bars == []
