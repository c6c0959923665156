"""SLA clocks across weekends, cut-offs, holidays and DST, in the channel's own timezone."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orderhub.domain.errors import ValidationFailed
from orderhub.domain.sla import SlaState, parse_policy

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def test_an_order_before_the_cut_off_ships_by_the_end_of_the_next_working_day() -> None:
    policy = parse_policy({"ship_within_days": 1, "cutoff": "14:00", "timezone": "Europe/Berlin"})
    # Tuesday 2026-11-24 13:59 Berlin → Wednesday 23:59 Berlin.
    assert policy.ship_by(berlin(2026, 11, 24, 13, 59)) == berlin(2026, 11, 25, 23, 59)


def test_an_order_after_the_cut_off_starts_its_clock_the_next_working_day() -> None:
    policy = parse_policy({"ship_within_days": 1, "cutoff": "14:00", "timezone": "Europe/Berlin"})
    assert policy.ship_by(berlin(2026, 11, 24, 14, 0)) == berlin(2026, 11, 26, 23, 59)


def test_a_friday_afternoon_order_skips_the_weekend() -> None:
    policy = parse_policy({"ship_within_days": 1, "cutoff": "14:00", "timezone": "Europe/Berlin"})
    # Friday 2026-11-27 15:00 (after cut-off) → clock starts Monday → ships by Tuesday.
    assert policy.ship_by(berlin(2026, 11, 27, 15, 0)) == berlin(2026, 12, 1, 23, 59)
    # Saturday → clock starts Monday too.
    assert policy.ship_by(berlin(2026, 11, 28, 9, 0)) == berlin(2026, 12, 1, 23, 59)


def test_same_day_promise_and_holidays() -> None:
    policy = parse_policy(
        {
            "ship_within_days": 0,
            "cutoff": "12:00",
            "timezone": "Europe/Berlin",
            "holidays": ["2026-12-24", "2026-12-25"],
        }
    )
    assert policy.ship_by(berlin(2026, 12, 23, 11, 0)) == berlin(2026, 12, 23, 23, 59)
    # After cut-off on the 23rd: the 24th and 25th are holidays, the 26th/27th a weekend.
    assert policy.ship_by(berlin(2026, 12, 23, 12, 30)) == berlin(2026, 12, 28, 23, 59)


def test_business_hours_count_only_open_hours_across_a_weekend() -> None:
    policy = parse_policy(
        {"ship_within_hours": 8, "business_hours": ["09:00", "17:00"], "timezone": "Europe/Berlin"}
    )
    # Friday 15:00: 2 hours Friday, 6 hours Monday from 09:00 → Monday 15:00.
    assert policy.ship_by(berlin(2026, 11, 27, 15, 0)) == berlin(2026, 11, 30, 15, 0)
    # Sunday: nothing counts until Monday 09:00.
    assert policy.ship_by(berlin(2026, 11, 29, 10, 0)) == berlin(2026, 11, 30, 17, 0)


def test_a_dst_change_does_not_move_the_wall_clock_promise() -> None:
    policy = parse_policy(
        {"ship_within_days": 1, "cutoff": "14:00", "timezone": "America/New_York"}
    )
    # Friday 2026-10-30 10:00 EDT (UTC−4); DST ends Sunday 11-01; ships by Monday 23:59 EST.
    placed = datetime(2026, 10, 30, 10, 0, tzinfo=NEW_YORK)
    ship_by = policy.ship_by(placed)
    assert ship_by == datetime(2026, 11, 2, 23, 59, tzinfo=NEW_YORK)
    assert ship_by is not None
    assert ship_by.utcoffset() == timedelta(0)  # stored in UTC
    assert ship_by == datetime(2026, 11, 3, 4, 59, tzinfo=UTC)  # UTC−5 after the change


def test_business_hours_across_spring_forward_still_count_wall_clock_hours() -> None:
    policy = parse_policy(
        {"ship_within_hours": 4, "business_hours": ["09:00", "17:00"], "timezone": "Europe/Berlin"}
    )
    # Friday 2026-03-27 15:00 CET; DST starts Sunday 03-29; Monday 11:00 CEST (UTC+2).
    assert policy.ship_by(berlin(2026, 3, 27, 15, 0)) == berlin(2026, 3, 30, 11, 0)
    assert policy.ship_by(berlin(2026, 3, 27, 15, 0)) == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


def test_deliver_by_counts_working_days_after_ship_by() -> None:
    policy = parse_policy(
        {"ship_within_days": 1, "deliver_within_days": 2, "timezone": "Europe/Berlin"}
    )
    ship_by = policy.ship_by(berlin(2026, 11, 26, 10, 0))  # Thursday → ships by Friday
    assert policy.deliver_by(ship_by) == berlin(2026, 12, 1, 23, 59)  # Mon, Tue


def test_state_is_at_risk_inside_the_window_and_breached_after() -> None:
    policy = parse_policy({"ship_within_days": 0, "at_risk_hours": 2})
    due = datetime(2026, 11, 24, 23, 59, tzinfo=UTC)
    assert policy.state(due, due - timedelta(hours=3)) == SlaState.ON_TRACK
    assert policy.state(due, due - timedelta(hours=1)) == SlaState.AT_RISK
    assert policy.state(due, due) == SlaState.BREACHED


def test_no_promise_means_no_dates() -> None:
    policy = parse_policy({"timezone": "Europe/Berlin"})
    assert policy.ship_by(berlin(2026, 11, 24, 10, 0)) is None
    assert policy.deliver_by(None) is None


def test_an_invalid_policy_reports_every_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_policy(
            {
                "timezone": "Mars/Olympus",
                "ship_within_days": -1,
                "cutoff": "late",
                "working_days": ["x"],
            }
        )
    assert {e.field for e in caught.value.fields} == {
        "sla.timezone",
        "sla.ship_within_days",
        "sla.cutoff",
        "sla.working_days",
    }
