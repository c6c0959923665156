"""The search's cuts never cut the optimum: sparse stock, where no single location holds the
order and the whole-line partitions, the split-only subset search, the closing-member bound
and the two-cheapest-floors gate all come into play."""

from __future__ import annotations

from decimal import Decimal

from bench.routing_milp import optimum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderhub.domain.allocation import AllocationRequest
from orderhub.domain.routing import build_planner
from orderhub.domain.routing.rules import RuleSet
from tests.unit.routing_helpers import line, location, request, rules

CODES = ("A", "B", "C", "D", "E", "F")


@st.composite
def sparse(draw: st.DrawFn) -> tuple[RuleSet, AllocationRequest]:
    cards = [
        {
            "origin": code,
            "zone": "Z",
            "service": service,
            "transit_days": 2,
            "bands": [
                {"max_grams": 500, "price": str(draw(st.integers(300, 900)) / 100)},
                {"max_grams": 1500, "price": str(draw(st.integers(500, 1500)) / 100)},
                {"price": str(draw(st.integers(800, 3000)) / 100)},
            ],
        }
        for code in CODES
        for service in ("ground", "express")
    ]
    rules_ = RuleSet.model_validate(
        {
            "zones": [{"destinations": ["*"], "zone": "Z"}],
            "rate_cards": cards,
            "compliance": {"hazmat_service": "ground"},
            "weights": {"split_penalty": str(draw(st.integers(0, 400)) / 100)},
            "max_splits": draw(st.integers(2, 3)),
        }
    )
    count = draw(st.integers(1, 4))
    attrs = st.sampled_from([{}, {}, {}, {"hazmat": True}, {"keep_together": "g"}])
    lines = tuple(
        line(
            f"L{n}",
            f"S{n}",
            draw(st.integers(1, 3)),
            weight_grams=draw(st.sampled_from([100, 300, 700, 1200])),
            attributes=draw(attrs),
        )
        for n in range(count)
    )
    held = st.sampled_from([0, 0, 0, 1, 2, 3])
    stock = {(li.sku, code): draw(held) for li in lines for code in CODES}
    req = request(lines=lines, locations=tuple(location(c) for c in CODES), available=stock)
    return rules_, req


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sparse())
def test_cuts_never_lose_the_milp_optimum_when_stock_is_scattered(
    case: tuple[RuleSet, AllocationRequest],
) -> None:
    rules_, req = case
    planner = build_planner(rules_)
    plan = planner.plan(req)
    _, _, problem = planner.prepare(req)
    best = None if problem is None else optimum(problem)
    assert plan.feasible == (best is not None)
    if best is not None:
        assert planner.compiled.minor(Decimal(plan.explanation["chosen"]["total"])) == best


def test_the_last_member_closes_what_the_others_cannot_hold() -> None:
    locs = (location("EAST"), location("WEST"), location("MID"))
    stock = {("SKU-1", "EAST"): 1, ("SKU-1", "WEST"): 1, ("SKU-1", "MID"): 1}
    req = request(lines=(line(quantity=3),), locations=locs, available=stock)
    plan = build_planner(rules()).plan(req)
    assert sorted((p.location, p.quantity) for p in plan.picks) == [
        ("EAST", 1),
        ("MID", 1),
        ("WEST", 1),
    ]


def test_splitting_units_beats_the_best_whole_line_plan_when_no_single_location_holds_it() -> None:
    # No location holds both lines; whole lines cost 20.00 + 3.00 (EAST) + penalty. Sending
    # one unit of the heavy line from each side keeps both parcels in the cheap band.
    steep = rules(
        zones=[{"destinations": ["*"], "zone": "1"}],
        rate_cards=[
            {"zone": "1", "bands": [{"max_grams": 1000, "price": "3.00"}, {"price": "20.00"}]}
        ],
        weights={"split_penalty": "1.00"},
    )
    two = (line("L1", "SKU-1", quantity=2, weight_grams=600), line("L2", "SKU-2"))
    stock = {("SKU-1", "EAST"): 2, ("SKU-1", "WEST"): 1, ("SKU-2", "WEST"): 1}
    plan = build_planner(steep).plan(request(lines=two, available=stock))
    assert sorted((p.line_id, p.location, p.quantity) for p in plan.picks) == [
        ("L1", "EAST", 1),
        ("L1", "WEST", 1),
        ("L2", "WEST", 1),
    ]
    assert plan.explanation["chosen"]["total"] == "7.00"
