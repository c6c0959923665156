"""The explanation every decision carries: plain JSON, stored with the allocation and events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orderhub.domain.allocation import AllocationPlan, Pick
from orderhub.domain.events import OrderRouted
from orderhub.domain.routing.constraints import Screen
from orderhub.domain.routing.cost import CompiledRules, CostModel
from orderhub.domain.routing.problem import Problem, Solution


def explain(
    *,
    compiled: CompiledRules,
    strategy: str,
    sla: dict[str, Any],
    screen: Screen,
    problem: Problem | None,
    solution: Solution | None,
    reason: str | None = None,
    picks: Sequence[Pick] = (),
) -> dict[str, Any]:
    """Candidates, exclusions and why, the chosen plan and its cost breakdown."""
    data: dict[str, Any] = {
        "planner": "routing",
        "rules_version": compiled.version,
        "strategy": strategy,
        "currency": compiled.rules.currency,
        "sla": sla,
        "excluded": [e.as_json() for e in screen.excluded],
        "line_exclusions": [e.as_json() for e in (*screen.unroutable, *screen.line_excluded)],
        "units": sum(problem.quantity) if problem else None,
        "candidates": _candidates(problem) if problem else [],
        "chosen": None,
    }
    if problem is not None and strategy == "routing.bounded":
        # optimal: the search finished within its node budget (else the best plan it found)
        data["search"] = {"nodes": problem.nodes, "optimal": problem.complete}
    if solution is None or problem is None:
        data["unroutable"] = reason or "no location or combination can ship the whole order"
        return data
    data["chosen"] = _chosen(compiled, problem.model, picks, problem, solution)
    return data


def _candidates(problem: Problem) -> list[dict[str, Any]]:
    """Every location that passed the constraints, with how much of the order it holds."""
    money, split = problem.model.compiled.money, problem.model.split_penalty
    held = []
    for column in problem.columns():  # not sum(): mypyc calls the builtin generically
        units = 0
        for n in column:
            units += n
        held.append(units)
    out = []
    for j, origin in enumerate(problem.origins):
        single = problem.single.get(j)
        out.append(
            {
                "location": origin.code,
                "zone": origin.zone,
                "units_held": held[j],
                "holds_whole_order": j in problem.single,
                "single_shipment_cost": None if single is None else money(single - split),
            }
        )
    return out


def _chosen(
    compiled: CompiledRules,
    model: CostModel,
    picks: Sequence[Pick],
    problem: Problem,
    solution: Solution,
) -> dict[str, Any]:
    load = solution.shipments(problem.lines)
    # the picks per location in one pass (in their order), the shipments by location code
    picked_at: dict[str, list[dict[str, Any]]] = {}
    for p in picks:
        line = {"line_id": p.line_id, "sku": p.sku, "quantity": p.quantity}
        at = picked_at.get(p.location)
        if at is None:
            picked_at[p.location] = [line]
        else:
            at.append(line)
    shipments: list[dict[str, Any]] = []
    for _, j in sorted([(problem.origins[j].code, j) for j in load]):  # no key closure
        grams, haz = load[j]
        origin = problem.origins[j]
        picked = picked_at.get(origin.code, [])
        shipments.append(
            {"location": origin.code, "lines": picked, "cost": model.breakdown(origin, grams, haz)}
        )
    splits = len(shipments) - 1
    return {
        "shipments": shipments,
        "split": splits > 0,
        "split_penalty": compiled.money(splits * model.split_penalty),
        "late_days": max(s["cost"]["late_days"] for s in shipments),
        "total": compiled.money(solution.cost),
    }


def routed_event(order_id: str, plan: AllocationPlan) -> OrderRouted:
    """The event allocation records on the order with each routing decision."""
    return OrderRouted(
        order_id=order_id,
        strategy=plan.strategy,
        rules_version=plan.explanation.get("rules_version"),
        locations=tuple(plan.locations),
        explanation=dict(plan.explanation),
    )
