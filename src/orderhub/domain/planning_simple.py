"""The simple planner: where stock comes from until routing's cost-based planner replaces it.

Order of preference, documented in docs/inventory.md:

1. only locations that serve the channel (active, allowed by channel and location);
2. one location for the whole order when one can: the first by ``priority`` then ``code``;
3. otherwise line by line, each line filled from locations in that same order (a line may
   split across locations);
4. all or nothing: if any line cannot be filled completely there is no plan (``picks`` empty).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from orderhub.domain.allocation import AllocationPlan, AllocationRequest, Pick
from orderhub.domain.inventory import serves
from orderhub.domain.locations import Location


class SimplePlanner:
    name = "simple"

    def plan(self, request: AllocationRequest) -> AllocationPlan:
        candidates = sorted(
            (loc for loc in request.locations if serves(loc, request.channel)),
            key=lambda loc: (loc.priority, loc.code),
        )
        order = [loc.code for loc in candidates]
        explanation: dict[str, Any] = {"location_order": order}
        single = self._single_location(request, candidates)
        if single is not None:
            explanation["single_location"] = single
            picks = tuple(
                Pick(line.line_id, line.sku, single, line.quantity) for line in request.lines
            )
            return AllocationPlan(picks, explanation, self.name)
        explanation["single_location"] = None
        split, shortages = self._line_by_line(request, order)
        if shortages:
            explanation["shortages"] = shortages
            return AllocationPlan((), explanation, self.name)
        return AllocationPlan(tuple(split), explanation, self.name)

    @staticmethod
    def _single_location(request: AllocationRequest, candidates: list[Location]) -> str | None:
        wanted: dict[str, int] = defaultdict(int)
        for line in request.lines:
            wanted[line.sku] += line.quantity
        for loc in candidates:
            if all(request.available.get((sku, loc.code), 0) >= q for sku, q in wanted.items()):
                return loc.code
        return None

    @staticmethod
    def _line_by_line(
        request: AllocationRequest, order: list[str]
    ) -> tuple[list[Pick], dict[str, int]]:
        left = dict(request.available)
        picks: list[Pick] = []
        shortages: dict[str, int] = {}
        for line in request.lines:
            need = line.quantity
            for code in order:
                take = min(need, max(0, left.get((line.sku, code), 0)))
                if take:
                    picks.append(Pick(line.line_id, line.sku, code, take))
                    left[(line.sku, code)] -= take
                    need -= take
                if not need:
                    break
            if need:
                shortages[line.line_id] = need
        return picks, shortages
