"""The simple planner's documented order and the available-to-sell formula, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime

from orderhub.domain.allocation import AllocationRequest, RequestedLine
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.inventory import ShortStockPolicy, StockLevel, available_to_sell
from orderhub.domain.inventory import short_stock_policy as policy_of
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.domain.planning_simple import SimplePlanner

NOW = datetime(2026, 11, 27, tzinfo=UTC)
WEB = Channel(code="web", name="Web", kind=ChannelKind.NATIVE)


def location(code: str, priority: int = 100, **kw: object) -> Location:
    return Location(
        code, code.upper(), LocationKind.WAREHOUSE, LocationAddress("DE"), priority=priority, **kw
    )  # type: ignore[arg-type]


def request(
    lines: list[tuple[str, str, int]],
    locations: list[Location],
    available: dict[tuple[str, str], int],
    channel: Channel = WEB,
) -> AllocationRequest:
    return AllocationRequest(
        order_id="o1",
        channel=channel,
        destination=None,
        placed_at=NOW,
        lines=tuple(RequestedLine(line_id, sku, q) for line_id, sku, q in lines),
        locations=tuple(locations),
        available=available,
        now=NOW,
    )


def test_prefers_one_location_that_serves_every_line_by_priority_then_code() -> None:
    locs = [location("b", 10), location("a", 10), location("c", 1)]
    avail = {("S1", "a"): 5, ("S2", "a"): 5, ("S1", "b"): 5, ("S2", "b"): 5, ("S1", "c"): 5}
    plan = SimplePlanner().plan(request([("l1", "S1", 2), ("l2", "S2", 1)], locs, avail))
    assert {p.location for p in plan.picks} == {"a"}  # c lacks S2; a before b by code
    assert plan.explanation["single_location"] == "a"
    assert plan.explanation["location_order"] == ["c", "a", "b"]


def test_fills_line_by_line_in_location_order_when_no_single_location_can() -> None:
    locs = [location("a", 1), location("b", 2)]
    avail = {("S1", "a"): 2, ("S1", "b"): 3, ("S2", "b"): 1}
    plan = SimplePlanner().plan(request([("l1", "S1", 4), ("l2", "S2", 1)], locs, avail))
    assert [(p.line_id, p.location, p.quantity) for p in plan.picks] == [
        ("l1", "a", 2),
        ("l1", "b", 2),
        ("l2", "b", 1),
    ]


def test_no_plan_when_any_line_is_short_all_or_nothing() -> None:
    locs = [location("a")]
    plan = SimplePlanner().plan(
        request([("l1", "S1", 1), ("l2", "S2", 3)], locs, {("S1", "a"): 1, ("S2", "a"): 2})
    )
    assert not plan.feasible
    assert plan.explanation["shortages"] == {"l2": 1}


def test_ignores_locations_that_may_not_serve_the_channel() -> None:
    locs = [
        location("inactive", 1, active=False),
        location("app-only", 2, channels=["app"]),
        location("ok", 3),
    ]
    avail = {("S1", code): 9 for code in ("inactive", "app-only", "ok")}
    plan = SimplePlanner().plan(request([("l1", "S1", 1)], locs, avail))
    assert [p.location for p in plan.picks] == ["ok"]
    narrowed = Channel(code="web", name="Web", kind=ChannelKind.NATIVE, locations_allowed=["x"])
    assert not SimplePlanner().plan(request([("l1", "S1", 1)], locs, avail, narrowed)).feasible


def test_available_to_sell_sums_serving_locations_minus_safety_stock_floored_at_zero() -> None:
    locs = [location("a"), location("b"), location("app", channels=["app"])]
    levels = {
        "a": StockLevel("S1", "a", 10, 3),  # 7
        "b": StockLevel("S1", "b", 2, 5),  # counted below reservations: contributes 0
        "app": StockLevel("S1", "app", 100, 0),  # does not serve web
    }
    assert available_to_sell(WEB, locs, levels, safety_stock=2) == 5
    assert available_to_sell(WEB, locs, levels, safety_stock=9) == 0


def test_short_stock_policy_comes_from_channel_settings_and_defaults_to_backorder() -> None:
    assert policy_of(WEB) == ShortStockPolicy.BACKORDER
    held = Channel("h", "H", ChannelKind.NATIVE, settings={"insufficient_stock": "hold"})
    assert policy_of(held) == ShortStockPolicy.HOLD
