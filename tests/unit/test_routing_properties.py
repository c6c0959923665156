"""Properties: the exact search matches the MILP optimum and never over-picks stock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bench.routing_milp import optimum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderhub.domain.allocation import AllocationRequest
from orderhub.domain.routing import build_planner
from orderhub.domain.routing.rules import RuleSet
from tests.unit.routing_helpers import line, location, request

CODES = ("A", "B", "C", "D")


@st.composite
def instances(draw: st.DrawFn) -> tuple[RuleSet, AllocationRequest]:
    cards = [
        {
            "origin": code,
            "zone": "Z",
            "service": service,
            "transit_days": draw(st.integers(1, 5)),
            "bands": [
                {"max_grams": 500, "price": str(draw(st.integers(300, 900)) / 100)},
                {"max_grams": 1500, "price": str(draw(st.integers(500, 1500)) / 100)},
                {"price": str(draw(st.integers(800, 3000)) / 100)},
            ],
        }
        for code in CODES
        for service in ("ground", "express")
    ]
    tier = draw(st.sampled_from(["ground", "express"]))
    rules = RuleSet.model_validate(
        {
            "zones": [{"destinations": ["*"], "zone": "Z"}],
            "rate_cards": cards,
            "sla_tiers": {"standard": {"service": tier, "deliver_within_days": 3}},
            "weights": {
                "split_penalty": str(draw(st.integers(0, 600)) / 100),
                "late_per_day": str(draw(st.integers(0, 500)) / 100),
            },
            "max_splits": draw(st.integers(1, 3)),
        }
    )
    count = draw(st.integers(1, 4))
    skus = [draw(st.sampled_from(["S1", "S2", "S3", "S4", "S5"])) for _ in range(count)]
    group = st.sampled_from([{}, {}, {"hazmat": True}, {"keep_together": "g"}])
    weights: dict[str, int] = {}
    attrs: dict[str, dict[str, Any]] = {}
    lines = []
    for n, sku in enumerate(skus):
        weights.setdefault(sku, draw(st.sampled_from([0, 100, 300, 700, 1200])))
        attrs.setdefault(sku, draw(group))
        lines.append(
            line(
                f"L{n}",
                sku,
                draw(st.integers(1, 4)),
                weight_grams=weights[sku],
                attributes=attrs[sku],
            )
        )
    stock = {(sku, code): draw(st.integers(0, 5)) for sku in set(skus) for code in CODES}
    req = request(lines=tuple(lines), locations=tuple(location(c) for c in CODES), available=stock)
    return rules, req


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_exact_search_never_beats_and_always_reaches_the_milp_optimum(
    case: tuple[RuleSet, AllocationRequest],
) -> None:
    rules, req = case
    planner = build_planner(rules)
    plan = planner.plan(req)
    _, _, problem = planner.prepare(req)
    assert problem is not None
    best = optimum(problem)
    if best is None:
        assert not plan.feasible
        return
    assert plan.feasible
    ours = planner.compiled.minor(Decimal(plan.explanation["chosen"]["total"]))
    assert ours >= best
    assert ours == best


@settings(max_examples=150, deadline=None)
@given(instances())
def test_plans_never_pick_more_than_available_and_cover_every_line(
    case: tuple[RuleSet, AllocationRequest],
) -> None:
    rules, req = case
    plan = build_planner(rules).plan(req)
    taken: dict[tuple[str, str], int] = {}
    for pick in plan.picks:
        key = (pick.sku, pick.location)
        taken[key] = taken.get(key, 0) + pick.quantity
        assert pick.quantity > 0
    assert all(n <= req.available.get(key, 0) for key, n in taken.items())
    if plan.feasible:
        per_line: dict[str, int] = {}
        for pick in plan.picks:
            per_line[pick.line_id] = per_line.get(pick.line_id, 0) + pick.quantity
        assert per_line == {li.line_id: li.quantity for li in req.lines}
        assert len(plan.locations) <= rules.max_splits
