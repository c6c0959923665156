"""Each hard constraint excludes a location (or a line) with a stated reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Any

from orderhub.domain.allocation import AllocationPlan
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.orders import Address
from orderhub.domain.routing import build_planner
from tests.unit.routing_helpers import line, location, request, rules


def _excluded(plan: AllocationPlan) -> dict[str, str]:
    return {e["location"]: e["reason"] for e in plan.explanation["excluded"]}


def _line_excluded(plan: AllocationPlan) -> list[tuple[Any, str]]:
    return [(e["location"], e["reason"]) for e in plan.explanation["line_exclusions"]]


def test_routes_to_the_cheapest_location_when_all_are_eligible() -> None:
    plan = build_planner(rules()).plan(request())
    assert plan.locations == ["EAST"]
    assert plan.explanation["chosen"]["total"] == "5.00"


def test_excludes_inactive_location() -> None:
    plan = build_planner(rules()).plan(
        request(locations=(location("EAST", active=False), location("WEST")))
    )
    assert _excluded(plan) == {"EAST": "inactive"}
    assert plan.locations == ["WEST"]


def test_excludes_location_on_manual_hold_in_the_rules() -> None:
    held = rules(locations={"EAST": {"hold": True, "hold_reason": "stocktake"}})
    plan = build_planner(held).plan(request())
    assert _excluded(plan) == {"EAST": "on_hold"}
    assert plan.explanation["excluded"][0]["detail"] == "stocktake"


def test_excludes_location_not_serving_destination_country() -> None:
    plan = build_planner(rules()).plan(
        request(locations=(location("EAST", serves_countries=["CA"]), location("WEST")))
    )
    assert _excluded(plan) == {"EAST": "does_not_serve_destination"}


def test_excludes_location_not_serving_destination_region() -> None:
    narrowed = rules(locations={"EAST": {"serves_regions": ["US-NJ", "US-PA"]}})
    plan = build_planner(narrowed).plan(request())
    assert _excluded(plan) == {"EAST": "does_not_serve_destination"}


def test_excludes_location_not_allowed_for_the_channel() -> None:
    plan = build_planner(rules()).plan(
        request(locations=(location("EAST", channels=["app"]), location("WEST")))
    )
    assert _excluded(plan) == {"EAST": "not_allowed_for_channel"}


def test_excludes_location_outside_the_channels_allow_list() -> None:
    channel = Channel(code="web", name="Web", kind=ChannelKind.NATIVE, locations_allowed=["WEST"])
    plan = build_planner(rules()).plan(request(channel=channel))
    assert _excluded(plan) == {"EAST": "not_allowed_for_channel"}


def test_excludes_location_the_channel_rules_exclude() -> None:
    plan = build_planner(rules(channels={"web": {"excluded_locations": ["EAST"]}})).plan(request())
    assert _excluded(plan) == {"EAST": "not_allowed_for_channel"}


def test_excludes_location_whose_daily_capacity_is_reached() -> None:
    plan = build_planner(rules()).plan(
        request(
            locations=(location("EAST", daily_capacity=50), location("WEST")),
            orders_today={"EAST": 50},
        )
    )
    assert _excluded(plan) == {"EAST": "capacity_reached"}
    assert plan.explanation["excluded"][0]["detail"] == "50 of 50 orders today"


def test_capacity_override_in_the_rules_wins_over_the_location() -> None:
    plan = build_planner(rules(locations={"EAST": {"daily_capacity": 10}})).plan(
        request(locations=(location("EAST"), location("WEST")), orders_today={"EAST": 10})
    )
    assert _excluded(plan) == {"EAST": "capacity_reached"}


def test_excludes_location_past_cutoff_for_promised_ship_date() -> None:
    # Same-day promise; EAST (New York time) cut off at 09:00 local = 14:00 UTC; now 15:00 UTC.
    same_day = rules(sla_tiers={"standard": {"ship_within_days": 0, "deliver_within_days": 3}})
    east = location("EAST", cutoff=time(9, 0), timezone="America/New_York")
    west = location("WEST", cutoff=time(17, 0), timezone="America/Los_Angeles")
    plan = build_planner(same_day).plan(request(locations=(east, west)))
    assert _excluded(plan) == {"EAST": "past_cutoff"}
    assert plan.locations == ["WEST"]


def test_keeps_location_before_cutoff_when_the_promise_allows_a_later_ship_date() -> None:
    next_day = rules(sla_tiers={"standard": {"ship_within_days": 1, "deliver_within_days": 4}})
    east = location("EAST", cutoff=time(9, 0), timezone="America/New_York")
    plan = build_planner(next_day).plan(request(locations=(east,)))
    assert plan.locations == ["EAST"]


def test_excludes_location_without_a_rate_to_the_destination() -> None:
    only_zone_1 = rules(zones=[{"origin": "EAST", "destinations": ["US"], "zone": "1"}])
    plan = build_planner(only_zone_1).plan(request())
    assert _excluded(plan) == {"WEST": "no_rate_to_destination"}


def test_hazmat_line_is_kept_from_listed_locations() -> None:
    hazmat = line(attributes={"hazmat": True})
    plan = build_planner(rules(compliance={"hazmat_excluded_locations": ["EAST"]})).plan(
        request(lines=(hazmat,))
    )
    assert ("EAST", "hazmat_excluded_location") in _line_excluded(plan)
    assert plan.locations == ["WEST"]


def test_hazmat_ships_ground_even_when_the_channel_promises_express() -> None:
    express = rules(
        sla_tiers={"standard": {}, "fast": {"service": "express", "deliver_within_days": 2}},
        channels={"web": {"sla_tier": "fast"}},
        rate_cards=[
            {"zone": "1", "service": "ground", "transit_days": 3, "bands": [{"price": "5.00"}]},
            {"zone": "2", "service": "ground", "transit_days": 4, "bands": [{"price": "6.00"}]},
            {"zone": "1", "service": "express", "transit_days": 1, "bands": [{"price": "15.00"}]},
            {"zone": "2", "service": "express", "transit_days": 1, "bands": [{"price": "18.00"}]},
        ],
    )
    plan = build_planner(express).plan(
        request(lines=(line("L1"), line("L2", "SKU-2", attributes={"hazmat": True})))
    )
    shipment = plan.explanation["chosen"]["shipments"][0]
    assert shipment["cost"]["service"] == "ground"
    assert shipment["cost"]["late_days"] == 2  # 3 transit days vs 2 − 1 allowed


def test_hazmat_line_cannot_ship_from_a_location_without_the_hazmat_service() -> None:
    no_ground = rules(
        rate_cards=[
            {"zone": "1", "service": "air", "bands": [{"price": "9.00"}]},
            {"zone": "2", "service": "air", "bands": [{"price": "9.00"}]},
        ],
        sla_tiers={"standard": {"service": "air"}},
    )
    plan = build_planner(no_ground).plan(request(lines=(line(attributes={"hazmat": True}),)))
    assert not plan.feasible
    assert ("EAST", "hazmat_service_unavailable") in _line_excluded(plan)


def test_restricted_country_from_product_attributes_makes_the_order_unroutable() -> None:
    restricted = line(attributes={"restricted_countries": ["CA"]})
    plan = build_planner(rules()).plan(
        request(lines=(restricted,), destination=Address(country="CA", region="ON"))
    )
    assert not plan.feasible
    assert _line_excluded(plan) == [(None, "restricted_at_destination")]


def test_restricted_region_from_product_attributes_makes_the_order_unroutable() -> None:
    restricted = line(attributes={"restricted_regions": ["US-NY"]})
    plan = build_planner(rules()).plan(request(lines=(restricted,)))
    assert not plan.feasible
    assert plan.explanation["line_exclusions"][0]["reason"] == "restricted_at_destination"


def test_restriction_rule_by_attribute_blocks_a_region() -> None:
    spirits = rules(compliance={"restrictions": [{"attribute": "alcohol", "regions": ["US-NY"]}]})
    plan = build_planner(spirits).plan(request(lines=(line(attributes={"alcohol": True}),)))
    assert not plan.feasible


def test_explanation_lists_candidates_exclusions_choice_and_cost_breakdown() -> None:
    plan = build_planner(rules(), version=7).plan(
        request(locations=(location("EAST"), location("WEST"), location("OLD", active=False)))
    )
    data = json.loads(json.dumps(plan.explanation))  # JSON-serializable
    assert data["rules_version"] == 7
    assert data["strategy"] == "routing.exact"
    assert [c["location"] for c in data["candidates"]] == ["EAST", "WEST"]
    assert data["candidates"][1]["single_shipment_cost"] == "7.00"
    assert [c["units_held"] for c in data["candidates"]] == [1, 1]
    assert data["units"] == 1
    assert data["excluded"] == [
        {"location": "OLD", "reason": "inactive", "detail": "location is inactive"}
    ]
    shipment = data["chosen"]["shipments"][0]
    assert shipment["location"] == "EAST"
    assert shipment["lines"] == [{"line_id": "L1", "sku": "SKU-1", "quantity": 1}]
    assert shipment["cost"] == {
        "service": "ground",
        "zone": "1",
        "weight_grams": 200,
        "transit_days": 1,
        "late_days": 0,
        "shipping": "5.00",
        "late": "0.00",
        "distance_km": None,
        "distance": "0.00",
        "preference": "0.00",
        "total": "5.00",
    }
    assert data["chosen"]["split"] is False


def test_explanation_counts_the_units_each_candidate_holds() -> None:
    two = (line("L1", "SKU-1", quantity=3), line("L2", "SKU-2", quantity=2))
    stock = {("SKU-1", "EAST"): 2, ("SKU-2", "EAST"): 5, ("SKU-1", "WEST"): 9}
    data = build_planner(rules()).plan(request(lines=two, available=stock)).explanation
    held = {c["location"]: (c["units_held"], c["holds_whole_order"]) for c in data["candidates"]}
    assert held == {"EAST": (4, False), "WEST": (3, False)}  # usable units, capped per line
    assert data["units"] == 5


def test_explanation_says_why_when_no_plan_exists() -> None:
    plan = build_planner(rules()).plan(request(available={}))
    assert not plan.feasible
    assert "unroutable" in plan.explanation
    assert plan.explanation["chosen"] is None


def test_at_placement_time_the_promise_uses_the_locations_local_date() -> None:
    # Placed 23:30 New York on the 19th (04:30 UTC on the 20th): promised ship date is the 19th.
    placed = datetime(2026, 11, 20, 4, 30, tzinfo=UTC)
    same_day = rules(sla_tiers={"standard": {"ship_within_days": 0, "deliver_within_days": 3}})
    east = location("EAST", cutoff=time(23, 45), timezone="America/New_York")
    plan = build_planner(same_day).plan(
        request(locations=(east,), placed_at=placed, now=datetime(2026, 11, 20, 5, 0, tzinfo=UTC))
    )
    # The only location missed the promise: it ships late rather than never, and says so.
    assert plan.feasible
    assert plan.explanation["cutoff_relaxed"] is True


def test_a_location_past_cutoff_is_excluded_while_another_can_keep_the_promise() -> None:
    placed = datetime(2026, 11, 20, 4, 30, tzinfo=UTC)
    same_day = rules(sla_tiers={"standard": {"ship_within_days": 0, "deliver_within_days": 3}})
    east = location("EAST", cutoff=time(23, 45), timezone="America/New_York")
    west = location("WEST", cutoff=time(23, 45), timezone="America/Los_Angeles")
    plan = build_planner(same_day).plan(
        request(
            locations=(east, west),
            placed_at=placed,
            now=datetime(2026, 11, 20, 5, 0, tzinfo=UTC),
        )
    )
    assert _excluded(plan) == {"EAST": "past_cutoff"}
    assert plan.locations == ["WEST"]
    assert "cutoff_relaxed" not in plan.explanation


NEW_YORK_CUTOFFS = {"timezone": "America/New_York"}  # 10:00 local now (15:00 UTC)
SAME_DAY = {"standard": {"ship_within_days": 0, "deliver_within_days": 3}}


def _large_order() -> tuple[Any, ...]:
    return tuple(line(f"L{n}", f"SKU-{n}") for n in range(8))  # beyond exact_max_lines (6)


def test_a_split_within_every_cutoff_beats_one_location_past_its_cutoff() -> None:
    # EAST holds the whole 8-line order and would be cheapest, but is past its cut-off; WEST
    # and NORTH together hold it within theirs: the split is the plan, nothing is relaxed.
    lines = _large_order()
    east = location("EAST", cutoff=time(9, 0), **NEW_YORK_CUTOFFS)
    west = location("WEST", cutoff=time(17, 0), **NEW_YORK_CUTOFFS)
    north = location("NORTH", cutoff=time(17, 0), **NEW_YORK_CUTOFFS)
    stock = {(li.sku, "EAST"): 1 for li in lines}
    stock.update({(li.sku, "WEST" if n < 4 else "NORTH"): 1 for n, li in enumerate(lines)})
    plan = build_planner(rules(sla_tiers=SAME_DAY)).plan(
        request(lines=lines, locations=(east, west, north), available=stock)
    )
    assert plan.strategy == "routing.bounded"
    assert plan.locations == ["NORTH", "WEST"]
    assert _excluded(plan) == {"EAST": "past_cutoff"}
    assert plan.explanation["cutoff_policy"] == "ship_late"
    assert "cutoff_relaxed" not in plan.explanation
    assert plan.explanation["search"]["optimal"] is True


def test_ship_late_prices_the_delay_and_says_where_it_applied() -> None:
    # Only EAST (past its 09:00 cut-off) holds SKU-1: it ships tomorrow, one day late.
    east = location("EAST", cutoff=time(9, 0), **NEW_YORK_CUTOFFS)
    plan = build_planner(rules(sla_tiers=SAME_DAY)).plan(
        request(locations=(east, location("WEST")), available={("SKU-1", "EAST"): 1})
    )
    data = plan.explanation
    assert plan.locations == ["EAST"]
    assert data["cutoff_policy"] == "ship_late"
    assert data["cutoff_relaxed"] is True
    assert data["shipped_after_cutoff"] == {"EAST": 1}
    cost = data["chosen"]["shipments"][0]["cost"]
    assert cost["cutoff_delay_days"] == 1
    assert cost["late_days"] == 1  # zone 1 transit 1 day ≤ 3 allowed: the delay alone
    assert cost["late"] == "10.00"
    assert data["chosen"]["total"] == "15.00"  # 5.00 shipping + one late day at 10.00


def test_exclude_policy_leaves_the_order_unrouted_rather_than_late() -> None:
    east = location("EAST", cutoff=time(9, 0), **NEW_YORK_CUTOFFS)
    strict = rules(sla_tiers=SAME_DAY, cutoff_policy="exclude")
    plan = build_planner(strict).plan(
        request(locations=(east, location("WEST")), available={("SKU-1", "EAST"): 1})
    )
    assert not plan.feasible
    assert _excluded(plan) == {"EAST": "past_cutoff"}
    assert plan.explanation["cutoff_policy"] == "exclude"
    assert "cutoff_relaxed" not in plan.explanation


def test_every_location_holding_stock_is_explained_inactive_ones_too() -> None:
    plan = build_planner(rules()).plan(
        request(
            locations=(location("EAST", active=False), location("WEST"), location("SOUTH")),
            available={("SKU-1", "EAST"): 5, ("SKU-1", "WEST"): 5, ("SKU-1", "SOUTH"): 5},
        )
    )
    used = set(plan.locations)
    explained = {c["location"] for c in plan.explanation["candidates"]} | set(_excluded(plan))
    assert {"EAST", "WEST", "SOUTH"} - used <= explained
    assert _excluded(plan) == {"EAST": "inactive"}
