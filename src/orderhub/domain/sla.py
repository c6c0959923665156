"""SLA clocks: when an order must ship (and arrive) under its channel's promise.

A channel's ``sla`` setting is a small JSON policy (all keys optional, see docs/fulfilment.md)::

    {"ship_within_days": 1, "cutoff": "14:00", "timezone": "Europe/Berlin",
     "working_days": ["mon", "tue", "wed", "thu", "fri"], "holidays": ["2026-12-25"],
     "end_of_day": "23:59", "deliver_within_days": 3, "at_risk_hours": 4}

or ``"ship_within_hours": 8`` with ``"business_hours": ["09:00", "17:00"]``. Days and hours count
working time only, in the channel's timezone (wall-clock, so DST changes do not shift a promise);
an order placed after the cut-off or on a day off starts the clock on the next working day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orderhub.domain.errors import FieldError, ValidationFailed

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SlaState(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"


@dataclass(frozen=True)
class SlaPolicy:
    timezone: ZoneInfo
    ship_within_days: int | None = None
    ship_within_hours: int | None = None
    cutoff: time | None = None
    working_days: frozenset[int] = frozenset(range(5))  # Monday = 0
    holidays: frozenset[date] = frozenset()
    end_of_day: time = time(23, 59)
    opens: time = time(9)
    closes: time = time(17)
    deliver_within_days: int | None = None
    at_risk_hours: float = 4.0

    @property
    def promises_shipping(self) -> bool:
        return self.ship_within_days is not None or self.ship_within_hours is not None

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.working_days and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        day += timedelta(days=1)
        for _ in range(366):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValidationFailed("the SLA policy has no working day", [])

    def _local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.timezone).astimezone(UTC)

    def clock_start(self, placed_at: datetime) -> tuple[date, datetime | None]:
        """The working day the clock starts on, and the instant (None: that day's opening)."""
        local = placed_at.astimezone(self.timezone)
        day = local.date()
        late = self.cutoff is not None and local.time() >= self.cutoff
        if self.is_working_day(day) and not late:
            return day, placed_at
        return self.next_working_day(day), None

    def ship_by(self, placed_at: datetime) -> datetime | None:
        if self.ship_within_hours is not None:
            return self._ship_by_hours(placed_at, self.ship_within_hours)
        if self.ship_within_days is None:
            return None
        day, _ = self.clock_start(placed_at)
        for _ in range(self.ship_within_days):
            day = self.next_working_day(day)
        return self._local(day, self.end_of_day)

    def _ship_by_hours(self, placed_at: datetime, hours: int) -> datetime:
        day, started = self.clock_start(placed_at)
        left = timedelta(hours=hours)
        start = self._local(day, self.opens)
        if started is not None:
            start = max(start, started)
        for _ in range(3660):
            close = self._local(day, self.closes)
            if start < close:
                if start + left <= close:
                    return start + left
                left -= close - start
            day = self.next_working_day(day)
            start = self._local(day, self.opens)
        raise ValidationFailed("the SLA policy never opens", [])

    def deliver_by(self, ship_by: datetime | None) -> datetime | None:
        if ship_by is None or self.deliver_within_days is None:
            return None
        day = ship_by.astimezone(self.timezone).date()
        for _ in range(self.deliver_within_days):
            day = self.next_working_day(day)
        return self._local(day, self.end_of_day)

    def state(self, ship_by: datetime | None, now: datetime) -> SlaState:
        if ship_by is None or now < ship_by - timedelta(hours=self.at_risk_hours):
            return SlaState.ON_TRACK
        return SlaState.AT_RISK if now < ship_by else SlaState.BREACHED


def parse_policy(raw: dict[str, Any]) -> SlaPolicy:
    """Read a channel's ``sla`` JSON; every problem is reported with its field path."""
    problems: list[FieldError] = []

    def fail(name: str, message: str) -> None:
        problems.append(FieldError(("sla", name), message))

    zone = ZoneInfo("UTC")
    try:
        zone = ZoneInfo(str(raw.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        fail("timezone", "not an IANA timezone")
    days = _int(raw, "ship_within_days", fail)
    hours = _int(raw, "ship_within_hours", fail)
    if days is not None and hours is not None:
        fail("ship_within_hours", "give ship_within_days or ship_within_hours, not both")
    working = raw.get("working_days", list(DAY_NAMES[:5]))
    if not isinstance(working, list) or not working or any(d not in DAY_NAMES for d in working):
        fail("working_days", f"a non-empty list of {', '.join(DAY_NAMES)}")
        working = list(DAY_NAMES[:5])
    holidays: set[date] = set()
    for value in raw.get("holidays", []):
        try:
            holidays.add(date.fromisoformat(str(value)))
        except ValueError:
            fail("holidays", f"{value!r} is not an ISO date")
    hours_window = raw.get("business_hours", ["09:00", "17:00"])
    opens = _time(hours_window[0] if hours_window else None, "business_hours", fail) or time(9)
    closes = _time(hours_window[-1] if hours_window else None, "business_hours", fail) or time(17)
    if opens >= closes:
        fail("business_hours", "opening must come before closing")
    policy = SlaPolicy(
        timezone=zone,
        ship_within_days=days,
        ship_within_hours=hours,
        cutoff=_time(raw.get("cutoff"), "cutoff", fail) if raw.get("cutoff") else None,
        working_days=frozenset(DAY_NAMES.index(d) for d in working),
        holidays=frozenset(holidays),
        end_of_day=_time(raw.get("end_of_day", "23:59"), "end_of_day", fail) or time(23, 59),
        opens=opens,
        closes=closes,
        deliver_within_days=_int(raw, "deliver_within_days", fail),
        at_risk_hours=float(raw.get("at_risk_hours", 4)),
    )
    if problems:
        raise ValidationFailed("the channel's SLA policy is invalid", problems)
    return policy


def _int(raw: dict[str, Any], name: str, fail: Any) -> int | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        fail(name, "a whole number ≥ 0")
        return None
    return value


def _time(value: Any, name: str, fail: Any) -> time | None:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        fail(name, f"{value!r} is not a time like 14:00")
        return None
