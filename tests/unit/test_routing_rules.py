"""The rule document refuses what the engine could not honour; dry-run totals add up."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from orderhub.domain.routing import build_planner
from orderhub.domain.routing.dryrun import difference, summarize
from orderhub.domain.routing.explain import routed_event
from orderhub.domain.routing.rules import RuleSet
from tests.unit.routing_helpers import line, request, rules


def test_bands_must_ascend_and_only_the_last_may_be_open() -> None:
    with pytest.raises(ValidationError, match="only the last band"):
        rules(rate_cards=[{"zone": "1", "bands": [{"price": "1"}, {"max_grams": 5, "price": "2"}]}])
    with pytest.raises(ValidationError, match="ascending"):
        rules(
            rate_cards=[
                {
                    "zone": "1",
                    "bands": [{"max_grams": 9, "price": "1"}, {"max_grams": 5, "price": "2"}],
                }
            ]
        )


def test_channels_must_name_an_existing_sla_tier() -> None:
    with pytest.raises(ValidationError, match="unknown sla tier"):
        RuleSet.model_validate({"channels": {"web": {"sla_tier": "overnight"}}})


def test_unknown_fields_and_negative_penalties_are_refused() -> None:
    with pytest.raises(ValidationError):
        RuleSet.model_validate({"max_split": 2})
    with pytest.raises(ValidationError, match="≥ 0"):
        RuleSet.model_validate({"channels": {"web": {"location_penalty": {"A": "-1"}}}})


def test_rules_round_trip_through_json() -> None:
    original = rules(max_splits=2)
    again = RuleSet.model_validate(json.loads(json.dumps(original.as_json())))
    assert again == original


def test_a_dearer_heavier_band_never_makes_a_heavier_parcel_cheaper_than_a_lighter_one() -> None:
    odd = rules(
        zones=[{"destinations": ["*"], "zone": "1"}],
        rate_cards=[
            {"zone": "1", "bands": [{"max_grams": 100, "price": "9.00"}, {"price": "6.00"}]}
        ],
    )
    plan = build_planner(odd).plan(request(lines=(line(weight_grams=50),)))
    assert plan.explanation["chosen"]["total"] == "6.00"  # the cheapest band that fits


def test_summary_and_difference_count_cost_splits_and_lateness() -> None:
    two = (line("L1", "SKU-1"), line("L2", "SKU-2"))
    split = build_planner(rules()).plan(
        request(lines=two, available={("SKU-1", "EAST"): 1, ("SKU-2", "WEST"): 1})
    )
    single = build_planner(rules()).plan(request(lines=two))
    none = build_planner(rules()).plan(request(available={}))
    active, draft = summarize([split, none]), summarize([single, single])
    assert (active.routed, active.unroutable, active.split_orders) == (1, 1, 1)
    assert active.cost == Decimal("16.00")
    assert difference(draft, active)["cost"] == "-6.00"
    assert draft.as_json()["split_rate"] == 0.0


def test_routed_event_carries_the_explanation() -> None:
    plan = build_planner(rules(), version=3).plan(request())
    event = routed_event("o-1", plan)
    assert event.type == "order.routed"
    assert event.data()["rules_version"] == 3
    assert event.data()["locations"] == ["EAST"]
    assert event.data()["explanation"]["chosen"]["total"] == "5.00"
