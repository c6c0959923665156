"""The routing planner: constraints, then cost-optimal search, then the explanation.

``build_planner(rules)`` returns a :class:`~orderhub.domain.allocation.Planner`; allocation
calls ``plan(request)`` and reserves the picks it returns (a lost race calls it again).
"""

from __future__ import annotations

from typing import Any

from orderhub.domain.allocation import AllocationPlan, AllocationRequest, Pick, RequestedLine
from orderhub.domain.routing.constraints import (
    HAZMAT_NO_SERVICE,
    NO_RATE,
    PAST_CUTOFF,
    Exclusion,
    Screen,
    is_hazmat,
    screen,
)
from orderhub.domain.routing.cost import CompiledRules, CostModel, Origin, region_key
from orderhub.domain.routing.explain import explain
from orderhub.domain.routing.rules import RuleSet, SlaTier
from orderhub.domain.routing.search import LineSpec, Problem, Solution


class RoutingPlanner:
    """A :class:`Planner` over one rule set version (compiled once, reused per decision)."""

    name = "routing"

    def __init__(self, rules: RuleSet, *, version: int | None = None) -> None:
        self.compiled = CompiledRules(rules, version)

    def plan(self, request: AllocationRequest) -> AllocationPlan:
        plan, found = self._plan(request, enforce_cutoff=True)
        missed = any(e.reason == PAST_CUTOFF for e in found.excluded)
        if plan.feasible or not missed:
            return plan
        # The promised ship date has passed everywhere it could have been kept: ship late
        # rather than never, and say so.
        late, _ = self._plan(request, enforce_cutoff=False)
        if not late.feasible:
            return plan
        explanation = {**late.explanation, "cutoff_relaxed": True}
        explanation["note"] = "every location that could ship it is past its cut-off: shipping late"
        return AllocationPlan(picks=late.picks, explanation=explanation, strategy=late.strategy)

    def _plan(
        self, request: AllocationRequest, *, enforce_cutoff: bool
    ) -> tuple[AllocationPlan, Screen]:
        sla, found, problem = self.prepare(request, enforce_cutoff=enforce_cutoff)
        if problem is None:
            return self._none(sla, found, None, "a line may not ship to this destination"), found
        exact = len(problem.lines) <= self.compiled.rules.exact_max_lines
        solution = problem.exact() if exact else problem.heuristic()
        strategy = "routing.exact" if exact else "routing.heuristic"
        if solution is None:
            return self._none(sla, found, problem, None, strategy), found
        picks = to_picks(problem, solution)
        data = explain(
            compiled=self.compiled,
            strategy=strategy,
            sla=sla,
            screen=found,
            problem=problem,
            solution=solution,
            picks=picks,
        )
        return AllocationPlan(picks=picks, explanation=data, strategy=strategy), found

    def prepare(
        self, request: AllocationRequest, *, enforce_cutoff: bool = True
    ) -> tuple[dict[str, Any], Screen, Problem | None]:
        """Constraints applied and the order reduced to numbers (None: a line is unroutable)."""
        compiled, rules = self.compiled, self.compiled.rules
        tier_name, tier = compiled.tier(request.channel.code, request.channel.sla)
        sla = {"tier": tier_name, **tier.model_dump()}
        found = screen(compiled, request, tier, enforce_cutoff=enforce_cutoff)
        if found.unroutable:
            return sla, found, None
        model = CostModel(
            compiled,
            service=tier.service,
            hazmat_service=rules.compliance.hazmat_service,
            transit_allowance=tier.deliver_within_days - tier.ship_within_days,
            split_penalty=compiled.split_penalty,
        )
        lines = _merge(request)
        origins = self._origins(request, model, found, lines)
        avail = _availability(request, lines, origins, found)
        return sla, found, Problem(lines, origins, avail, model, rules.max_splits)

    def _none(
        self,
        sla: dict[str, Any],
        found: Screen,
        problem: Problem | None,
        reason: str | None,
        strategy: str = "routing.exact",
    ) -> AllocationPlan:
        data = explain(
            compiled=self.compiled,
            strategy=strategy,
            sla=sla,
            screen=found,
            problem=problem,
            solution=None,
            reason=reason,
        )
        return AllocationPlan(picks=(), explanation=data, strategy=strategy)

    def _origins(
        self,
        request: AllocationRequest,
        model: CostModel,
        found: Screen,
        lines: tuple[LineSpec, ...],
    ) -> list[Origin]:
        compiled = self.compiled
        country, region = region_key(request.destination)
        coords = compiled.rules.coordinates
        point = coords.get(region or "") or coords.get(country or "")
        channel_rules = compiled.rules.channels.get(request.channel.code)
        priority = channel_rules.location_priority if channel_rules else []
        penalties = compiled.penalties.get(request.channel.code, {})
        only_hazmat = all(li.hazmat for li in lines)
        origins, kept = [], []
        for location in found.candidates:
            zone = compiled.zone(location.code, country, region)
            if zone is None:
                found.excluded.append(Exclusion(location.code, NO_RATE, "no zone for destination"))
                continue
            rank = priority.index(location.code) if location.code in priority else len(priority)
            origin = model.origin(
                location,
                zone,
                point,
                penalty=penalties.get(location.code, 0),
                rank=rank * 10_000 + location.priority,
            )
            if origin.rate is None and not (only_hazmat and origin.hazmat_rate is not None):
                found.excluded.append(
                    Exclusion(location.code, NO_RATE, f"no {model.service} rate to zone {zone}")
                )
                continue
            origins.append(origin)
            kept.append(location)
        found.candidates = kept
        return origins


def _merge(request: AllocationRequest) -> tuple[LineSpec, ...]:
    """One demand per (SKU, keep-together group): lines of one SKU share its stock."""
    merged: dict[tuple[str, str | None], list[RequestedLine]] = {}
    for line in request.lines:
        group = _group(line.attributes.get("keep_together"))
        merged.setdefault((line.sku, group), []).append(line)
    return tuple(
        LineSpec(
            same[0].line_id,
            sku,
            sum(li.quantity for li in same),
            same[0].weight_grams,
            any(is_hazmat(li) for li in same),
            group,
            tuple((li.line_id, li.quantity) for li in same) if len(same) > 1 else (),
        )
        for (sku, group), same in merged.items()
    )


def to_picks(problem: Problem, solution: Solution) -> tuple[Pick, ...]:
    """The solution's units per (demand, location) as picks per order line."""
    picks = []
    for i, spec in enumerate(problem.lines):
        at = sorted((j, n) for (m, j), n in solution.units.items() if m == i)
        for line_id, position, n in spec.split([n for _, n in at]):
            picks.append(Pick(line_id, spec.sku, problem.origins[at[position][0]].code, n))
    return tuple(picks)


def _group(value: object) -> str | None:
    return None if value in (None, False, "") else str(value)


def _availability(
    request: AllocationRequest, lines: tuple[LineSpec, ...], origins: list[Origin], found: Screen
) -> list[list[int]]:
    """Usable units per (line, origin); lines sharing a SKU share its stock, first line first."""
    left: dict[tuple[str, str], int] = {}
    avail = []
    shared = len({line.sku for line in lines}) < len(lines)  # only across keep-together groups
    stock_of = request.available.get
    for line in lines:
        row = []
        careful = line.hazmat or shared
        for origin in origins:
            key = (line.sku, origin.code)
            if not careful:
                row.append(max(0, min(line.quantity, stock_of(key, 0))))
                continue
            stock = left.setdefault(key, max(0, stock_of(key, 0)))
            usable = min(line.quantity, stock)
            if (line.line_id, origin.code) in found.blocked:
                usable = 0
            elif line.hazmat and origin.hazmat_rate is None:
                usable = 0
                found.line_excluded.append(
                    Exclusion(
                        origin.code,
                        HAZMAT_NO_SERVICE,
                        f"{line.sku} is hazmat; no hazmat service rate here",
                        line.line_id,
                    )
                )
            left[key] = stock - usable
            row.append(usable)
        avail.append(row)
    return avail


def build_planner(rules: RuleSet | None = None, *, version: int | None = None) -> RoutingPlanner:
    """The planner allocation should use: the active rule set, compiled once."""
    return RoutingPlanner(rules or RuleSet(), version=version)


__all__ = ["RoutingPlanner", "SlaTier", "build_planner"]
