"""One planner serves many decisions: what it remembers (lanes) follows every change that matters.

The planner keeps, per rule version, each location's standing exclusion and cost origin for a
(channel, destination, tier); these tests change one thing at a time between two decisions of
the same planner and check that the second decision sees it.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.locations import LocationAddress
from orderhub.domain.orders import Address
from orderhub.domain.routing import build_planner
from orderhub.domain.routing.cost import CompiledRules
from orderhub.domain.routing.rules import RuleSet
from tests.unit.routing_helpers import location, request, rules


def _reasons(plan_explanation: dict[str, object]) -> dict[str, str]:
    excluded = plan_explanation["excluded"]
    assert isinstance(excluded, list)
    return {e["location"]: e["reason"] for e in excluded}


def test_a_location_deactivated_between_decisions_is_excluded_at_once() -> None:
    planner = build_planner(rules())
    east, west = location("EAST"), location("WEST")
    assert planner.plan(request(locations=(east, west))).locations == ["EAST"]
    plan = planner.plan(request(locations=(location("EAST", active=False), west)))
    assert plan.locations == ["WEST"]
    assert _reasons(plan.explanation) == {"EAST": "inactive"}


def test_a_location_that_stops_serving_the_channel_or_country_is_excluded_at_once() -> None:
    planner = build_planner(rules())
    assert planner.plan(request()).locations == ["EAST"]
    only_shop = request(locations=(location("EAST", channels=["shop"]), location("WEST")))
    assert _reasons(planner.plan(only_shop).explanation) == {"EAST": "not_allowed_for_channel"}
    canada = request(locations=(location("EAST", serves_countries=["CA"]), location("WEST")))
    assert _reasons(planner.plan(canada).explanation) == {"EAST": "does_not_serve_destination"}


def test_the_channels_own_allow_list_is_part_of_what_is_remembered() -> None:
    planner = build_planner(rules())
    web = Channel(code="web", name="Web", kind=ChannelKind.NATIVE)
    assert planner.plan(request(channel=web)).locations == ["EAST"]
    narrowed = replace(web, locations_allowed=["WEST"])
    plan = planner.plan(request(channel=narrowed))
    assert plan.locations == ["WEST"]
    assert _reasons(plan.explanation) == {"EAST": "not_allowed_for_channel"}


def test_moved_coordinates_change_the_distance_cost() -> None:
    priced = rules(coordinates={"US-NY": [40.7, -74.0]}, weights={"per_km": "0.01"})
    planner = build_planner(priced)
    near = LocationAddress(country="US", region="NJ", latitude=40.7, longitude=-74.1)
    far = LocationAddress(country="US", region="CA", latitude=34.0, longitude=-118.2)
    only_east = {("SKU-1", "EAST"): 5}
    first, moved = (
        planner.plan(request(locations=(location("EAST", address=a),), available=only_east))
        for a in (near, far)
    )
    cost = [p.explanation["chosen"]["shipments"][0]["cost"] for p in (first, moved)]
    assert cost[0]["distance_km"] < 20 < 3000 < cost[1]["distance_km"]
    assert Decimal(cost[0]["distance"]) < 1 < 30 < Decimal(cost[1]["distance"])


def test_daily_capacity_and_cut_off_are_checked_per_decision_not_remembered() -> None:
    planner = build_planner(rules())
    capped = (location("EAST", daily_capacity=5), location("WEST"))
    assert planner.plan(request(locations=capped, orders_today={"EAST": 4})).locations == ["EAST"]
    full = planner.plan(request(locations=capped, orders_today={"EAST": 5}))
    assert full.locations == ["WEST"]
    assert _reasons(full.explanation) == {"EAST": "capacity_reached"}


def test_destinations_each_get_their_own_zones() -> None:
    planner = build_planner(rules())
    ny = planner.plan(request(destination=Address(country="US", region="NY")))
    tx = planner.plan(request(destination=Address(country="US", region="TX")))
    assert ny.explanation["chosen"]["total"] == "5.00"  # EAST is zone 1 to NY …
    assert tx.explanation["chosen"]["total"] == "7.00"  # … and zone 2 to TX


@given(st.integers(-(10**15), 10**15), st.sampled_from(["USD", "JPY", "BHD", "EUR"]))
def test_money_text_is_the_decimal_amount_exactly(minor: int, currency: str) -> None:
    compiled = CompiledRules(RuleSet(currency=currency))
    text = compiled.money(minor)
    assert Decimal(text) == Decimal(minor).scaleb(-compiled.exponent)
    assert text == f"{Decimal(minor).scaleb(-compiled.exponent):f}"


def test_a_remembered_exclusion_reads_the_same_for_every_spelling_of_the_destination() -> None:
    planner = build_planner(rules())
    canada_only = (location("EAST", serves_countries=["CA"]), location("WEST"))
    details = [
        {e["location"]: e["detail"] for e in planner.plan(
            request(locations=canada_only, destination=Address(country="US", region=spelling))
        ).explanation["excluded"]}
        for spelling in ("NY", "US-NY")
    ]  # fmt: skip
    assert details == [{"EAST": "does not ship to US/US-NY"}] * 2
