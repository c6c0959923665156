"""The bounds that let the exact search skip a subset of locations never skip a cheaper plan.

Brute force: every way to deal every line's units over exactly the subset's members (each
shipping something) is priced, and the bound the search uses for that subset must not exceed
the cheapest. A bound that cut too deep would make the search miss optima the MILP tests
might not happen to hit.
"""

from __future__ import annotations

from itertools import combinations, product

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderhub.domain.allocation import AllocationRequest
from orderhub.domain.routing import build_planner
from orderhub.domain.routing.problem import Problem
from orderhub.domain.routing.rules import RuleSet
from orderhub.domain.routing.subsets import INF, Shares, compositions
from tests.unit.routing_helpers import line, location, request

CODES = ("A", "B", "C", "D")


@st.composite
def cases(draw: st.DrawFn) -> tuple[RuleSet, AllocationRequest]:
    cards = [
        {
            "origin": code,
            "zone": "Z",
            "transit_days": 2,
            "bands": [
                {"max_grams": 500, "price": str(draw(st.integers(300, 900)) / 100)},
                {"max_grams": 1500, "price": str(draw(st.integers(500, 1500)) / 100)},
                {"max_grams": 4000, "price": str(draw(st.integers(800, 2500)) / 100)},
                {"price": str(draw(st.integers(1000, 4000)) / 100)},
            ],
        }
        for code in CODES
    ]
    rules = RuleSet.model_validate(
        {
            "zones": [{"destinations": ["*"], "zone": "Z"}],
            "rate_cards": cards,
            "weights": {"split_penalty": str(draw(st.integers(0, 500)) / 100)},
            "max_splits": 3,
        }
    )
    count = draw(st.integers(1, 3))
    lines = tuple(
        line(
            f"L{n}",
            f"S{n}",
            draw(st.integers(1, 3)),
            weight_grams=draw(st.sampled_from([0, 100, 400, 900, 1600])),
        )
        for n in range(count)
    )
    stock = {(li.sku, c): draw(st.sampled_from([0, 1, 2, 3])) for li in lines for c in CODES}
    return rules, request(lines=lines, locations=tuple(location(c) for c in CODES), available=stock)


def _cheapest_over_exactly(problem: Problem, members: tuple[int, ...]) -> int:
    k, best = len(members), INF
    ways = [
        compositions(q, tuple(min(q, problem.avail[i][j]) for j in members))
        for i, q in enumerate(problem.quantity)
    ]
    for deal in product(*ways):
        grams = [sum(split[p] * problem.grams[i] for i, split in enumerate(deal)) for p in range(k)]
        if any(sum(split[p] for split in deal) == 0 for p in range(k)):
            continue  # a member shipping nothing: that is a smaller subset's plan
        cost = -problem.model.split_penalty
        for p, j in enumerate(members):
            one = problem.model.shipment(problem.origins[j], grams[p], False)
            if one is None:
                break
            cost += one
        else:
            best = min(best, cost)
    return best


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_subset_bound_never_exceeds_the_cheapest_plan_over_those_members(
    case: tuple[RuleSet, AllocationRequest],
) -> None:
    rules, req = case
    _, _, problem = build_planner(rules).prepare(req)
    assert problem is not None
    assert problem.plain
    for k in (2, 3):
        for members in combinations(range(len(problem.origins)), k):
            cheapest = _cheapest_over_exactly(problem, members)
            bound = Shares(problem, list(members)).bound()
            assert bound <= cheapest, (members, bound, cheapest)


def test_the_weight_bound_is_what_cuts_when_nothing_is_forced() -> None:
    """Two members that could each hold everything: only the weight says both ship heavy."""
    rules = RuleSet.model_validate(
        {
            "zones": [{"destinations": ["*"], "zone": "Z"}],
            "rate_cards": [
                {"zone": "Z", "bands": [{"max_grams": 1000, "price": "3.00"}, {"price": "20.00"}]}
            ],
            "weights": {"split_penalty": "0.00", "late_per_day": "0.00"},
        }
    )
    heavy = (line("L1", "S1", 3, weight_grams=1000),)  # 3 kg: one member takes ≥ 1.5 kg
    req = request(lines=heavy, locations=(location("A"), location("B")), available=None)
    _, _, problem = build_planner(rules).prepare(req)
    assert problem is not None
    shares = Shares(problem, [0, 1])
    assert shares.least == [0, 0]  # each could hold all three units
    assert shares.bound() == 2300  # 20.00 + 3.00: the floors alone would say 6.00
    assert _cheapest_over_exactly(problem, (0, 1)) == 2300
