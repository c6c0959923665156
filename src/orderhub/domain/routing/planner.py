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
    Exclusion,
    Screen,
    is_hazmat,
    screen,
)
from orderhub.domain.routing.cost import CompiledRules, CostModel, Origin
from orderhub.domain.routing.explain import explain
from orderhub.domain.routing.lanes import Lane, lanes
from orderhub.domain.routing.problem import LineSpec, Problem, Solution
from orderhub.domain.routing.rules import RuleSet, SlaTier
from orderhub.domain.routing.search import bounded, exact


class RoutingPlanner:
    """A :class:`Planner` over one rule set version (compiled once, reused per decision)."""

    name = "routing"

    def __init__(self, rules: RuleSet, *, version: int | None = None) -> None:
        self.compiled = CompiledRules(rules, version)

    def plan(self, request: AllocationRequest) -> AllocationPlan:
        plan, found = self._plan(request, enforce_cutoff=True)
        if not found.past_cutoff:
            return plan
        policy = self.compiled.rules.cutoff_policy
        if plan.feasible or policy == "exclude":
            # A plan within every cut-off (single or split) wins whatever it costs; under
            # ``exclude`` none at all is the answer when none exists.
            return _with(plan, {"cutoff_policy": policy})
        # ship_late: no plan keeps the promised ship date, so plan again with the locations
        # past their cut-off, each day's delay priced as a late day; late beats never.
        late, relaxed = self._plan(request, enforce_cutoff=False)
        if not late.feasible:
            return _with(plan, {"cutoff_policy": policy})
        delayed = {
            code: days for code, days in sorted(relaxed.delays.items()) if code in late.locations
        }
        where = ", ".join(f"{code} {days} day(s)" for code, days in delayed.items())
        note = "no plan within every cut-off exists (single location or split): shipping late"
        return _with(
            late,
            {
                "cutoff_policy": policy,
                "cutoff_relaxed": True,
                "shipped_after_cutoff": delayed,
                "note": f"{note} from {where}" if where else note,
            },
        )

    def _plan(
        self, request: AllocationRequest, *, enforce_cutoff: bool
    ) -> tuple[AllocationPlan, Screen]:
        sla, found, problem = self.prepare(request, enforce_cutoff=enforce_cutoff)
        if problem is None:
            return self._none(sla, found, None, "a line may not ship to this destination"), found
        small = len(problem.lines) <= self.compiled.rules.exact_max_lines
        solution = exact(problem) if small else bounded(problem)
        strategy = "routing.exact" if small else "routing.bounded"
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
        sla = dict(compiled.sla(tier_name))
        model = compiled.model(tier_name)
        seen = lanes(compiled, request, tier_name, model)
        standing = [lane.standing for lane in seen]
        found = screen(compiled, request, tier, standing, enforce_cutoff=enforce_cutoff)
        if found.unroutable:
            return sla, found, None
        lines = _merge(request)
        origins = _origins(request, seen, model, found, lines)
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


def _with(plan: AllocationPlan, extra: dict[str, Any]) -> AllocationPlan:
    return AllocationPlan(
        picks=plan.picks, explanation={**plan.explanation, **extra}, strategy=plan.strategy
    )


def _origins(
    request: AllocationRequest,
    seen: tuple[Lane, ...],
    model: CostModel,
    found: Screen,
    lines: tuple[LineSpec, ...],
) -> list[Origin]:
    """The candidates' cost origins; a candidate without a rate for the service is excluded."""
    only_hazmat = all(li.hazmat for li in lines)
    origins, kept, positions = [], [], []
    for location, position in zip(found.candidates, found.positions, strict=True):
        origin = seen[position].origin
        if origin is None:
            found.excluded.append(Exclusion(location.code, NO_RATE, "no zone for destination"))
            continue
        if origin.rate is None and not (only_hazmat and origin.hazmat_rate is not None):
            found.excluded.append(
                Exclusion(location.code, NO_RATE, f"no {model.service} rate to zone {origin.zone}")
            )
            continue
        delay = found.delays.get(location.code, 0)
        if delay:
            origin = origin.delayed(delay, model.compiled.late_per_day)
        origins.append(origin)
        kept.append(location)
        positions.append(position)
    found.candidates, found.positions = kept, positions
    return origins


def _merge(request: AllocationRequest) -> tuple[LineSpec, ...]:
    """One demand per (SKU, keep-together group): lines of one SKU share its stock."""
    merged: dict[tuple[str, str | None], list[RequestedLine]] = {}
    for line in request.lines:
        group = _group(line.attributes.get("keep_together")) if line.attributes else None
        merged.setdefault((line.sku, group), []).append(line)
    if len(merged) == len(request.lines):  # the common case: one line per SKU
        return tuple(
            LineSpec(
                line.line_id, line.sku, line.quantity, line.weight_grams, is_hazmat(line), group
            )
            for (_, group), (line,) in merged.items()
        )
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
    by_line: list[list[tuple[int, int]]] = [[] for _ in problem.lines]
    for (i, j), n in sorted(solution.units.items()):
        by_line[i].append((j, n))
    picks = []
    origins = problem.origins
    for spec, at in zip(problem.lines, by_line, strict=True):
        if not spec.parts and len(at) == 1:  # the common case: one line, one location
            picks.append(Pick(spec.line_id, spec.sku, origins[at[0][0]].code, at[0][1]))
            continue
        for line_id, position, n in spec.split([n for _, n in at]):
            picks.append(Pick(line_id, spec.sku, origins[at[position][0]].code, n))
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
    position = {origin.code: j for j, origin in enumerate(origins)}
    held: dict[str, list[int]] = {}  # the plain lines' stock per origin, from one pass
    for (sku, code), units in request.available.items():
        j = position.get(code)
        if j is not None and units > 0:
            row = held.get(sku)
            if row is None:
                row = held[sku] = [0] * len(origins)
            row[j] = units
    for line in lines:
        sku, q = line.sku, line.quantity
        if not (line.hazmat or shared):  # the common case, kept short: it runs per decision
            units_at = held.get(sku)
            avail.append([q if n > q else n for n in units_at] if units_at else [0] * len(origins))
            continue
        row = []
        for origin in origins:
            key = (sku, origin.code)
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
