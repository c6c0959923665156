"""The search: single location when possible, splits when cheaper or the only way."""

from __future__ import annotations

from orderhub.domain.locations import LocationAddress
from orderhub.domain.routing import build_planner
from tests.unit.routing_helpers import line, location, request, rules


def test_prefers_single_location_when_cost_is_equal() -> None:
    flat = rules(
        zones=[{"destinations": ["*"], "zone": "2"}],
        weights={"split_penalty": "0.00", "late_per_day": "0.00"},
    )
    two = (line("L1", "SKU-1"), line("L2", "SKU-2"))
    plan = build_planner(flat).plan(request(lines=two))
    assert len(plan.locations) == 1


def test_ties_go_to_the_channels_preferred_location() -> None:
    flat = rules(
        zones=[{"destinations": ["*"], "zone": "2"}],
        channels={"web": {"location_priority": ["WEST", "EAST"]}},
    )
    assert build_planner(flat).plan(request()).locations == ["WEST"]


def test_location_penalty_for_the_channel_shifts_the_choice() -> None:
    biased = rules(channels={"web": {"location_penalty": {"EAST": "3.00"}}})
    plan = build_planner(biased).plan(request())
    assert plan.locations == ["WEST"]  # EAST 5.00 + 3.00 > WEST 7.00


def test_splits_when_no_location_holds_the_whole_order() -> None:
    two = (line("L1", "SKU-1"), line("L2", "SKU-2"))
    stock = {("SKU-1", "EAST"): 1, ("SKU-2", "WEST"): 1}
    plan = build_planner(rules()).plan(request(lines=two, available=stock))
    assert sorted((p.line_id, p.location) for p in plan.picks) == [("L1", "EAST"), ("L2", "WEST")]
    chosen = plan.explanation["chosen"]
    assert chosen["split"] is True
    assert chosen["split_penalty"] == "4.00"
    assert chosen["total"] == "16.00"  # 5.00 + 7.00 + one split penalty


def test_splits_units_of_one_line_when_that_is_the_only_way() -> None:
    stock = {("SKU-1", "EAST"): 2, ("SKU-1", "WEST"): 1}
    plan = build_planner(rules()).plan(request(lines=(line(quantity=3),), available=stock))
    assert sorted((p.location, p.quantity) for p in plan.picks) == [("EAST", 2), ("WEST", 1)]


def test_splits_when_two_light_parcels_are_cheaper_than_one_heavy() -> None:
    # One 1.6 kg parcel from EAST costs 8.00; two 0.8 kg parcels 5.00 + 5.00 − … no: with a
    # split penalty of 0 and a steep heavy band, two parcels win.
    steep = rules(
        zones=[{"destinations": ["*"], "zone": "1"}],
        rate_cards=[
            {"zone": "1", "bands": [{"max_grams": 1000, "price": "3.00"}, {"price": "20.00"}]}
        ],
        weights={"split_penalty": "1.00"},
    )
    heavy = (line("L1", "SKU-1", weight_grams=800), line("L2", "SKU-2", weight_grams=800))
    plan = build_planner(steep).plan(request(lines=heavy))
    assert plan.locations == ["EAST", "WEST"]
    assert plan.explanation["chosen"]["total"] == "7.00"


def test_never_splits_when_a_single_shipment_is_cheaper() -> None:
    two = (line("L1", "SKU-1"), line("L2", "SKU-2"))
    plan = build_planner(rules(weights={"split_penalty": "0.00"})).plan(request(lines=two))
    assert plan.locations == ["EAST"]


def test_keep_together_lines_ship_from_one_location() -> None:
    kit = {"keep_together": "kit-1"}
    two = (line("L1", "SKU-1", attributes=kit), line("L2", "SKU-2", attributes=kit))
    stock = {("SKU-1", "EAST"): 1, ("SKU-2", "WEST"): 1, ("SKU-1", "WEST"): 1}
    plan = build_planner(rules()).plan(request(lines=two, available=stock))
    assert plan.locations == ["WEST"]
    split_only = {("SKU-1", "EAST"): 1, ("SKU-2", "WEST"): 1}
    assert not build_planner(rules()).plan(request(lines=two, available=split_only)).feasible


def test_max_splits_limits_the_number_of_shipments() -> None:
    locs = (location("EAST"), location("WEST"), location("MID"))
    three = (line("L1", "SKU-1"), line("L2", "SKU-2"), line("L3", "SKU-3"))
    stock = {("SKU-1", "EAST"): 1, ("SKU-2", "WEST"): 1, ("SKU-3", "MID"): 1}
    req = request(lines=three, locations=locs, available=stock)
    assert len(build_planner(rules()).plan(req).locations) == 3
    assert not build_planner(rules(max_splits=2)).plan(req).feasible


def test_late_delivery_is_penalised_per_day_beyond_the_promise() -> None:
    tight = rules(sla_tiers={"standard": {"ship_within_days": 0, "deliver_within_days": 1}})
    plan = build_planner(tight).plan(request(locations=(location("WEST"),)))
    cost = plan.explanation["chosen"]["shipments"][0]["cost"]
    assert (cost["late_days"], cost["late"], cost["total"]) == (2, "20.00", "27.00")


def test_distance_counts_when_coordinates_are_known() -> None:
    near = LocationAddress(country="US", region="NJ", latitude=40.7, longitude=-74.2)
    far = LocationAddress(country="US", region="CA", latitude=34.0, longitude=-118.2)
    geo = rules(
        zones=[{"destinations": ["*"], "zone": "2"}],
        coordinates={"US-NY": (40.7, -74.0)},
        weights={"per_km": "0.01"},
    )
    plan = build_planner(geo).plan(
        request(locations=(location("FAR", address=far), location("NEAR", address=near)))
    )
    assert plan.locations == ["NEAR"]
    assert plan.explanation["chosen"]["shipments"][0]["cost"]["distance_km"] < 30


def test_large_orders_get_the_bounded_search_and_say_so() -> None:
    many = tuple(line(f"L{n}", f"SKU-{n}") for n in range(10))
    stock = {(li.sku, "EAST" if n % 2 else "WEST"): 1 for n, li in enumerate(many)}
    plan = build_planner(rules()).plan(request(lines=many, available=stock))
    assert plan.strategy == "routing.bounded"
    assert plan.explanation["search"]["optimal"] is True
    assert plan.locations == ["EAST", "WEST"]
    assert sum(p.quantity for p in plan.picks) == 10


def test_lines_sharing_a_sku_never_take_more_than_its_stock() -> None:
    twice = (line("L1", "SKU-1", quantity=2), line("L2", "SKU-1", quantity=2))
    stock = {("SKU-1", "EAST"): 3, ("SKU-1", "WEST"): 1}
    plan = build_planner(rules()).plan(request(lines=twice, available=stock))
    taken: dict[str, int] = {}
    for pick in plan.picks:
        taken[pick.location] = taken.get(pick.location, 0) + pick.quantity
    assert taken == {"EAST": 3, "WEST": 1}
